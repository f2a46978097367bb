/**
 * Writes a tiny llama-architecture GGUF model with random weights, so tests and the bench
 * can run the real llama.cpp engine offline (no weights can be downloaded here).
 * Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md (version 3, F32 tensors).
 */
import { writeFileSync } from "node:fs";

const enum ValueType {
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  STRING = 8,
  ARRAY = 9,
}

type Value =
  | { type: "u32"; value: number }
  | { type: "f32"; value: number }
  | { type: "string"; value: string }
  | { type: "string[]"; value: string[] }
  | { type: "f32[]"; value: number[] }
  | { type: "i32[]"; value: number[] };

export interface Tensor {
  name: string;
  /** ggml order: dims[0] is the innermost (contiguous) dimension. */
  dims: number[];
  data: Float32Array;
}

const ALIGNMENT = 32;

/** Little-endian byte sink. */
class Sink {
  private chunks: Buffer[] = [];
  length = 0;
  private push(b: Buffer) {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(v: number) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number) {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  u64(v: number) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v: number) {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  str(s: string) {
    const b = Buffer.from(s, "utf8");
    this.u64(b.length);
    this.push(b);
  }
  bytes(b: Buffer) {
    this.push(b);
  }
  pad() {
    const rest = this.length % ALIGNMENT;
    if (rest) this.push(Buffer.alloc(ALIGNMENT - rest));
  }
  buffer() {
    return Buffer.concat(this.chunks);
  }
}

function writeValue(out: Sink, v: Value) {
  switch (v.type) {
    case "u32":
      return (out.u32(ValueType.UINT32), out.u32(v.value));
    case "f32":
      return (out.u32(ValueType.FLOAT32), out.f32(v.value));
    case "string":
      return (out.u32(ValueType.STRING), out.str(v.value));
    case "string[]":
      out.u32(ValueType.ARRAY);
      out.u32(ValueType.STRING);
      out.u64(v.value.length);
      return v.value.forEach((s) => out.str(s));
    case "f32[]":
      out.u32(ValueType.ARRAY);
      out.u32(ValueType.FLOAT32);
      out.u64(v.value.length);
      return v.value.forEach((x) => out.f32(x));
    case "i32[]":
      out.u32(ValueType.ARRAY);
      out.u32(ValueType.INT32);
      out.u64(v.value.length);
      return v.value.forEach((x) => out.i32(x));
  }
}

/** Serializes a GGUF v3 file: header, metadata, tensor infos, aligned F32 tensor data. */
export function encodeGguf(metadata: Record<string, Value>, tensors: Tensor[]): Buffer {
  const out = new Sink();
  out.bytes(Buffer.from("GGUF", "ascii"));
  out.u32(3);
  out.u64(tensors.length);
  out.u64(Object.keys(metadata).length);
  for (const [key, value] of Object.entries(metadata)) {
    out.str(key);
    writeValue(out, value);
  }
  let offset = 0;
  for (const t of tensors) {
    out.str(t.name);
    out.u32(t.dims.length);
    t.dims.forEach((d) => out.u64(d));
    out.u32(0); // GGML_TYPE_F32
    out.u64(offset);
    offset += Math.ceil(t.data.byteLength / ALIGNMENT) * ALIGNMENT;
  }
  out.pad();
  for (const t of tensors) {
    out.bytes(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    out.pad();
  }
  return out.buffer();
}

export interface TinyLlamaConfig {
  layers: number;
  embedding: number;
  heads: number;
  feedForward: number;
  context: number;
  seed: number;
  /** Jinja chat template stored in tokenizer.chat_template (ChatML when unset). */
  chatTemplate?: string;
}

// 8192 tokens of context: the vocabulary is bytes, so a persona plus tool results is thousands of tokens.
export const TINY_LLAMA: TinyLlamaConfig = {
  layers: 2,
  embedding: 64,
  heads: 4,
  feedForward: 128,
  context: 8192,
  seed: 42,
};

const CHATML =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** Deterministic weights: the same seed writes the same file. */
function random(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 0xffffffff) * 2 - 1;
  };
}

/**
 * A SentencePiece-style ("llama") vocabulary: <unk>, <s>, </s> and the 256 byte tokens, so
 * any text tokenizes through byte fallback and any byte can be generated.
 */
function byteVocabulary() {
  const tokens = ["<unk>", "<s>", "</s>"];
  const types = [2, 3, 3]; // UNKNOWN, CONTROL, CONTROL
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(6); // BYTE
  }
  return { tokens, types, scores: tokens.map(() => 0) };
}

export function tinyLlamaGguf(config: TinyLlamaConfig = TINY_LLAMA): Buffer {
  const { layers, embedding: n, heads, feedForward: ff, context } = config;
  const vocab = byteVocabulary();
  const nVocab = vocab.tokens.length;
  const next = random(config.seed);
  const weights = (...dims: number[]) => {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    const scale = 1 / Math.sqrt(dims[0]!);
    for (let i = 0; i < data.length; i++) data[i] = next() * scale;
    return data;
  };
  const ones = (size: number) => new Float32Array(size).fill(1);

  const tensors: Tensor[] = [{ name: "token_embd.weight", dims: [n, nVocab], data: weights(n, nVocab) }];
  for (let i = 0; i < layers; i++) {
    const blk = `blk.${i}`;
    tensors.push(
      { name: `${blk}.attn_norm.weight`, dims: [n], data: ones(n) },
      { name: `${blk}.attn_q.weight`, dims: [n, n], data: weights(n, n) },
      { name: `${blk}.attn_k.weight`, dims: [n, n], data: weights(n, n) },
      { name: `${blk}.attn_v.weight`, dims: [n, n], data: weights(n, n) },
      { name: `${blk}.attn_output.weight`, dims: [n, n], data: weights(n, n) },
      { name: `${blk}.ffn_norm.weight`, dims: [n], data: ones(n) },
      { name: `${blk}.ffn_gate.weight`, dims: [n, ff], data: weights(n, ff) },
      { name: `${blk}.ffn_up.weight`, dims: [n, ff], data: weights(n, ff) },
      { name: `${blk}.ffn_down.weight`, dims: [ff, n], data: weights(ff, n) },
    );
  }
  tensors.push(
    { name: "output_norm.weight", dims: [n], data: ones(n) },
    { name: "output.weight", dims: [n, nVocab], data: weights(n, nVocab) },
  );

  return encodeGguf(
    {
      "general.architecture": { type: "string", value: "llama" },
      "general.name": { type: "string", value: "tiny-random-llama" },
      "llama.context_length": { type: "u32", value: context },
      "llama.embedding_length": { type: "u32", value: n },
      "llama.block_count": { type: "u32", value: layers },
      "llama.feed_forward_length": { type: "u32", value: ff },
      "llama.attention.head_count": { type: "u32", value: heads },
      "llama.attention.head_count_kv": { type: "u32", value: heads },
      "llama.rope.dimension_count": { type: "u32", value: n / heads },
      "llama.attention.layer_norm_rms_epsilon": { type: "f32", value: 1e-5 },
      "tokenizer.ggml.model": { type: "string", value: "llama" },
      "tokenizer.ggml.tokens": { type: "string[]", value: vocab.tokens },
      "tokenizer.ggml.scores": { type: "f32[]", value: vocab.scores },
      "tokenizer.ggml.token_type": { type: "i32[]", value: vocab.types },
      "tokenizer.ggml.unknown_token_id": { type: "u32", value: 0 },
      "tokenizer.ggml.bos_token_id": { type: "u32", value: 1 },
      "tokenizer.ggml.eos_token_id": { type: "u32", value: 2 },
      "tokenizer.chat_template": { type: "string", value: config.chatTemplate ?? CHATML },
    },
    tensors,
  );
}

/** Writes the tiny model to `path` and returns the path. */
export function writeTinyLlama(path: string, config: TinyLlamaConfig = TINY_LLAMA): string {
  writeFileSync(path, tinyLlamaGguf(config));
  return path;
}
