import { SemsearchError } from '../../errors.js';

/** What a post-processor adds around one sequence: special ids before and after it. */
export interface SingleTemplate {
  prefix: number[];
  suffix: number[];
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
