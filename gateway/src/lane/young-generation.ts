/**
 * The size of V8's young generation, where each reading's short-lived objects are born and die. With V8's default
 * (16 MiB semi-spaces) each thread scavenged 60–80 times in a 17 s run at 5k msg/s; with 32 MiB, 20–35 times, the
 * garbage collector's share of the gateway's CPU fell from 10.5–14 % to 7.3–8 % and its CPU per message by 10–17 %
 * (`bench/run.sh --only profile`, session 16; BENCHMARKS.md). The cost: up to 96 MiB per thread, taken only under load.
 */
export const SEMI_SPACE_MB = 32;

/** The main thread's: on node's command line (Dockerfile, scripts/run-built.sh), before the heap exists. */
export const NODE_HEAP_ARGS: readonly string[] = [`--max-semi-space-size=${SEMI_SPACE_MB}`];

/** A worker's, in its resource limits: V8 sizes a young generation as three semi-spaces. */
export const WORKER_YOUNG_GENERATION_MB = 3 * SEMI_SPACE_MB;
