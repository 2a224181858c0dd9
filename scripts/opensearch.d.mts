// Types of scripts/opensearch.mjs, for the cluster tests and benchmark that drive it from TypeScript.
export interface NodeRecord {
  name: string;
  pid: number;
  http: number;
  transport: number;
  home: string;
  log: string;
  java: string;
  alive?: boolean;
}
export interface ClusterOptions {
  nodes?: number;
  dir?: string;
  heap?: string;
  httpPort?: number;
  javaHome?: string;
  timeoutMs?: number;
}
export const DEFAULT_DIR: string;
export const DEFAULT_HTTP_PORT: number;
export const USAGE: string;
export function buildDir(): string;
export function toolsPresent(): boolean;
export function setup(): string;
export function nodesOf(dir?: string): NodeRecord[];
export function startNode(i: number, options?: ClusterOptions): NodeRecord;
export function waitReady(url: string, nodes: number, options?: { dir?: string; timeoutMs?: number }): Promise<Record<string, unknown>>;
export function startCluster(options?: ClusterOptions): Promise<{ url: string; nodes: NodeRecord[]; dir: string }>;
export function killNode(name: string, dir?: string): NodeRecord;
export function stopCluster(options?: { dir?: string; timeoutMs?: number }): Promise<number>;
export function nodeRss(pid: number): number | undefined;
