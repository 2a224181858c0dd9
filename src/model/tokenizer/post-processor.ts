import { SemsearchError } from '../../errors.js';

/** What a post-processor adds around one sequence: special ids before and after it. */
export interface SingleTemplate {
  prefix: number[];
  suffix: number[];
}

/**
 * What it makes of a pair (a cross-encoder's query and passage), in order: special ids and the two sequences, each
 * with the token type id it gets. BERT's is [CLS] A [SEP] B [SEP] with B and its [SEP] of type 1.
 */
export type PairPiece = { special: number[]; typeId: number } | { sequence: 'A' | 'B'; typeId: number };

/** No post-processor: the two sequences one after the other, the second of type 1 (the Rust tokenizers' default). */
export const PLAIN_PAIR: readonly PairPiece[] = [
  { sequence: 'A', typeId: 0 },
  { sequence: 'B', typeId: 1 },
];

/** BertProcessing's pair layout, also what transformers builds for BERT-family vocab.txt folders. */
export function bertPair(cls: number, sep: number): PairPiece[] {
  return [
    { special: [cls], typeId: 0 },
    { sequence: 'A', typeId: 0 },
    { special: [sep], typeId: 0 },
    { sequence: 'B', typeId: 1 },
    { special: [sep], typeId: 1 },
  ];
}

/** RobertaProcessing's: <s> A </s></s> B </s>. RoBERTa-style models take no token types; they are left 0. */
export function robertaPair(cls: number, sep: number): PairPiece[] {
  return [
    { special: [cls], typeId: 0 },
    { sequence: 'A', typeId: 0 },
    { special: [sep, sep], typeId: 0 },
    { sequence: 'B', typeId: 0 },
    { special: [sep], typeId: 0 },
  ];
}

/** The pair template of tokenizer.json's post_processor. */
export function pairTemplateFromJson(spec: unknown, file: string): readonly PairPiece[] {
  if (spec === null || spec === undefined) return PLAIN_PAIR;
  const j = spec as Record<string, unknown>;
  switch (j['type']) {
    case 'BertProcessing':
    case 'RobertaProcessing': {
      // postProcessorFromJson has checked cls and sep.
      const cls = (j['cls'] as [string, number])[1];
      const sep = (j['sep'] as [string, number])[1];
      return j['type'] === 'BertProcessing' ? bertPair(cls, sep) : robertaPair(cls, sep);
    }
    case 'TemplateProcessing': {
      const pair = (j['pair'] as Record<string, { id: string; type_id?: number }>[] | undefined) ?? [];
      const special = (j['special_tokens'] as Record<string, { ids: number[] }> | undefined) ?? {};
      return pair.map((item, i): PairPiece => {
        const seq = item['Sequence'];
        if (seq !== undefined) {
          if (seq.id !== 'A' && seq.id !== 'B') {
            throw new SemsearchError('TOKENIZER_INVALID', `${file}: post_processor pair template names sequence ${JSON.stringify(seq.id)}`, { file, field: `post_processor.pair[${i}]` });
          }
          return { sequence: seq.id, typeId: seq.type_id ?? 0 };
        }
        const tok = item['SpecialToken'];
        const ids = tok === undefined ? undefined : special[tok.id]?.ids;
        if (tok === undefined || ids === undefined) {
          throw new SemsearchError('TOKENIZER_INVALID', `${file}: post_processor pair template names unknown special token ${JSON.stringify(tok?.id)}`, {
            file,
            field: `post_processor.pair[${i}]`,
          });
        }
        return { special: ids, typeId: tok.type_id ?? 0 };
      });
    }
    case 'Sequence': {
      // A byte-level step beside the template adds nothing to a pair: the template's layout is the pair's.
      const parts = ((j['processors'] as unknown[]) ?? []).map((p) => pairTemplateFromJson(p, file)).filter((p) => p !== PLAIN_PAIR);
      return parts[parts.length - 1] ?? PLAIN_PAIR;
    }
    case 'ByteLevel':
      return PLAIN_PAIR;
    default:
      // postProcessorFromJson refuses the rest.
      return PLAIN_PAIR;
  }
}

export function postProcessorFromJson(spec: unknown, file: string): SingleTemplate {
  if (spec === null || spec === undefined) return { prefix: [], suffix: [] };
  const j = spec as Record<string, unknown>;
  switch (j['type']) {
    case 'BertProcessing':
    case 'RobertaProcessing': {
      const cls = j['cls'] as [string, number] | undefined;
      const sep = j['sep'] as [string, number] | undefined;
      if (!Array.isArray(cls) || !Array.isArray(sep)) {
        throw new SemsearchError('TOKENIZER_INVALID', `${file}: post_processor ${String(j['type'])} lacks cls or sep`, {
          file,
          field: 'post_processor',
        });
      }
      return { prefix: [cls[1]], suffix: [sep[1]] };
    }
    case 'TemplateProcessing': {
      const single = (j['single'] as Record<string, { id: string }>[] | undefined) ?? [];
      const special = (j['special_tokens'] as Record<string, { ids: number[] }> | undefined) ?? {};
      const tpl: SingleTemplate = { prefix: [], suffix: [] };
      let seenSequence = false;
      for (const item of single) {
        if ('Sequence' in item) {
          seenSequence = true;
          continue;
        }
        const name = item['SpecialToken']?.id;
        const ids = name === undefined ? undefined : special[name]?.ids;
        if (ids === undefined) {
          throw new SemsearchError('TOKENIZER_INVALID', `${file}: post_processor template names unknown special token ${JSON.stringify(name)}`, {
            file,
            field: 'post_processor.single',
          });
        }
        (seenSequence ? tpl.suffix : tpl.prefix).push(...ids);
      }
      return tpl;
    }
    case 'Sequence': {
      const parts = ((j['processors'] as unknown[]) ?? []).map((p) => postProcessorFromJson(p, file));
      return { prefix: parts.flatMap((p) => p.prefix), suffix: parts.flatMap((p) => p.suffix) };
    }
    case 'ByteLevel':
      return { prefix: [], suffix: [] };
    default:
      throw new SemsearchError('TOKENIZER_INVALID', `${file}: unsupported post_processor type ${JSON.stringify(j['type'])}`, {
        file,
        field: 'post_processor.type',
      });
  }
}
