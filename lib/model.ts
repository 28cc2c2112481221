// The GPT class: a GPT-2 or Llama-family model trained and probed through the native engine
// (native/core/gpt.h). Arguments are checked here first (lib/validate.ts, the addon's bounds),
// with messages that name the argument; the addon checks them again. Calls on one model run one
// at a time: async calls queue behind each other, so user code may fire several without
// awaiting. Every async call copies its array arguments when it is made and validates the copy,
// so a caller may refill its buffers at once (a data loader does) without changing the result.
import { resolveDevice, type Device, type Precision } from './backend.js';
import { planOwnCheckpoint, readCheckpoint, writeCheckpoint, validateConfig, parameterCount, type GPTConfig } from './checkpoint/index.js';
import { pickConfig } from './checkpoint/layout.js';
import { planHfFolder, streamHfFolder, writeHfFolder } from './checkpoint/hf_folder.js';
import type { HfModelType } from './checkpoint/hf_names.js';
import { native, type NativeGPTModel, type OptimizerState, type ResidentBytes, type TrainableSet } from './native.js';
import { checkActivations, checkMemory, covers, type ActivationPlan, type Workload } from './memory_plan.js';
import { STEP_BOUNDS, checkBoolean, checkFloats, checkInt, checkNumberIn, checkObject, checkPositiveInt, checkTokens, describe } from './validate.js';
import { stat } from 'node:fs/promises';
import { HeadgradError, HeadgradRangeError, HeadgradTypeError } from './errors.js';

export interface GPTCreateOptions extends GPTConfig {
  /** Seed of the deterministic GPT-2 initialisation (integer in [0, 2^53)); default 0. */
  seed?: number;
  /** Default 'auto' (resolveDevice in lib/backend.ts). */
  device?: Device;
  /** See LoadOptions.workload. */
  workload?: Workload;
  /**
   * 'bf16': on CUDA, GEMMs and attention on tensor cores (parameters and optimizer state stay
   * f32); on the CPU, the 2-D weights are held only as bf16 and the linear layers run in bf16,
   * with f32 masters, gradients and AdamW moments only for what setTrainable() names
   * (docs/memory.md). Default 'f32'.
   */
  precision?: Precision;
}

export type { ResidentBytes, TrainableSet };
export type { Precision } from './backend.js';

/** GPT.load options. */
export interface LoadOptions {
  /** Default 'auto' (resolveDevice in lib/backend.ts). */
  device?: Device;
  /** 'bf16': the weights in bf16 (BF16 files go in as is, F32/F16 ones are rounded once). Default 'f32'. */
  precision?: Precision;
  /**
   * What the model will run (batch·seqLen rows, SFT mode): the memory check before allocation
   * (lib/memory_plan.ts) then counts its activations and training state too. Default: the
   * weights alone.
   */
  workload?: Workload;
}

/** model.save options. */
export interface SaveOptions {
  /** Hugging Face folders: the largest shard in bytes before the weights are split (default 5e9). */
  maxShardBytes?: number;
}

export interface ForwardOptions {
  batch: number;
  seqLen: number;
  /** [batch*seqLen] next-token targets; -1 = no target at that position. Without: loss is NaN and backward() refuses. */
  targets?: Int32Array;
  /** [batch*seqLen] weights, finite and >= 0: loss = Σ w·CE. Without: the mean CE over the positions with a target. */
  lossWeights?: Float32Array;
  /** Also return the logits [batch, seqLen, vocabSize]. */
  returnLogits?: boolean;
  /**
   * This forward feeds a scores-only backward: the LM head and the loss run only at positions
   * with a target (same loss), and the model keeps only the activations that backward reads
   * (docs/memory.md). Needs targets; no logits; the backward must be scores-only.
   */
  scoresOnly?: boolean;
}

export interface BackwardOptions {
  /**
   * Only the head scores: no weight, bias or embedding gradient is formed (step() and
   * exportGradients() refuse until a full backward). The head scores equal the full backward's.
   */
  scoresOnly?: boolean;
}

export interface StepOptions {
  lr: number;
  beta1?: number; // default 0.9
  beta2?: number; // default 0.999
  eps?: number; // default 1e-8
  /** Decoupled decay p -= lr·wd·p on the 2-D weights (wte, wpe, qkvw, attprojw, fcw, fcprojw, lmhead); default 0. */
  weightDecay?: number;
  /** Scale the gradients being applied so that their global L2 norm is at most this; default off. */
  gradClip?: number;
  /**
   * [layers*heads]: train only the Q/K/V rows and output-projection columns of the flagged heads
   * (attprojb stays frozen). Heads are query heads; under grouped-query attention (kvHeads <
   * heads) the K/V rows of a k/v head train when any query head of its group is flagged.
   */
  trainableHeads?: Uint8Array;
  /** With trainableHeads: also train the MLPs / norms / embeddings (wte, wpe and the LM head: wte when tied, lmhead otherwise). */
  trainMlp?: boolean;
  trainLayerNorm?: boolean;
  trainEmbeddings?: boolean;
}

export interface GenerateOptions {
  maxNewTokens: number;
  /** Stop when this token is produced; it is not included in the result. */
  stopToken?: number;
}

/** Accumulated time per op category (HEADGRAD_PROFILE=1 when the model was created). */
export interface OpProfile {
  ms: Record<string, number>;
  gemmFlops: number;
}

export class GPT {
  readonly config: GPTConfig;
  readonly device: 'cpu' | 'cuda';
  readonly precision: Precision;
  /** The precision the attention kernels run at: 'bf16' only on CUDA for head sizes listed in
   *  backendInfo().cuda.bf16AttentionHeadDims; every other case (the CPU included) runs f32 attention. */
  readonly attentionPrecision: Precision;
  readonly parameterCount: number;
  #native: NativeGPTModel;
  #queue: Promise<unknown> = Promise.resolve();
  #pending = 0;
  #disposed = false;
  #gates: Float32Array; // a host copy of the gates last set (all ones at creation)
  #source: string | undefined; // the folder the model was loaded from (its tokenizer goes along on save)
  #sourceType: HfModelType | undefined; // its model_type (a save writes the same family's names where it can)
  // The engine's activation plan: rows (batch·seqLen) and kind; a forward re-plans when it needs
  // more rows, or a full plan after scores-only ones (native/core/gpt.cpp plan_activations).
  #planned: ActivationPlan = { rows: 0, scoresOnly: true };

  private constructor(handle: NativeGPTModel, config: GPTConfig, device: 'cpu' | 'cuda', precision: Precision) {
    this.#native = handle;
    this.config = Object.freeze({ ...config });
    this.device = device;
    this.precision = precision;
    const headDim = config.headDim ?? config.dim / config.heads;
    this.attentionPrecision = precision === 'bf16' && device === 'cuda' &&
      native.backendInfo().cuda.bf16AttentionHeadDims.includes(headDim) ? 'bf16' : 'f32';
    this.parameterCount = parameterCount(config);
    this.#gates = new Float32Array(config.layers * config.heads).fill(1);
  }

  static async create(opts: GPTCreateOptions): Promise<GPT> {
    if (opts === null || typeof opts !== 'object') throw new HeadgradTypeError(`GPT.create: expected an options object, got ${String(opts)}`);
    validateConfig(opts, 'GPT.create config');
    const seed = opts.seed ?? 0;
    if (!Number.isSafeInteger(seed) || seed < 0) throw new HeadgradRangeError(`GPT.create seed: expected an integer in [0, 2^53), got ${seed}`);
    return GPT.#make('GPT.create', pickConfig(opts), opts, seed, true);
  }

  // Checks device, precision and memory, then builds the engine: randomly initialised (create)
  // or zeroed for a loader that imports every parameter next.
  static async #make(where: string, config: GPTConfig, opts: LoadOptions, seed: number, randomInit: boolean): Promise<GPT> {
    const device = resolveDevice(opts.device, where);
    const precision = opts.precision ?? 'f32';
    if (precision !== 'f32' && precision !== 'bf16') {
      const got = typeof precision === 'string' ? `'${precision}'` : describe(precision);
      throw new HeadgradTypeError(`${where} precision: expected 'f32' or 'bf16', got ${got}`);
    }
    // bf16 on a CPU without bf16 instructions (or a build without oneDNN) runs f32, as
    // backendInfo().cpu.bf16.reason says; `precision` then reports 'f32'.
    const runs: Precision = precision === 'bf16' && device === 'cpu' && !native.backendInfo().cpu.bf16.available ? 'f32' : precision;
    // Host memory only: a CUDA model's tensors live on the GPU.
    if (device === 'cpu') checkMemory(where, config, precision, opts.workload);
    return new GPT(await native.GPTModel.create({ ...config, seed, device, precision, randomInit }), config, device, runs);
  }

  /**
   * A checkpoint: a Hugging Face folder (GPT-2, Llama, Mistral, Qwen2; model.safetensors or
   * shards; F32/F16/BF16), headgrad's own safetensors, a GPT-2 folder's model.safetensors or an
   * llm.c .bin. A folder is checked whole (config fields, shard headers, tensor names and
   * shapes) before any weight is read, then streamed into the model tensor by tensor, so the
   * load needs little memory beyond the model itself.
   */
  static async load(file: string, opts: LoadOptions = {}): Promise<GPT> {
    if (opts === null || typeof opts !== 'object') throw new HeadgradTypeError(`GPT.load: expected an options object, got ${describe(opts)}`);
    const folder = await isDirectory(file);
    const plan = folder ? await planHfFolder(file) : await planOwnCheckpoint(file);
    if (plan) {
      const model = await GPT.#make('GPT.load', plan.config, opts, 0, false);
      // Straight into the engine: its imports check each value once (the stream names the
      // tensor of a value they refuse); BF16 goes in as bits. BF16 and F32 tensors are read by
      // the engine itself, from the disk into the weights (importFile: direct reads).
      const engine = model.#native;
      try {
        await streamHfFolder(plan, {
          f32: (offset, values) => engine.importParameterRange(offset, values),
          bf16: (offset, bits) => engine.importParameterRangeBf16(offset, bits),
          file: (p, segments) => engine.importFile(p, segments),
        });
      } catch (e) {
        model.dispose();
        throw e;
      }
      if (folder) {
        model.#source = file;
        model.#sourceType = (plan as { modelType?: HfModelType }).modelType;
      }
      return model;
    }
    // Any other file (GPT-2 sized: own GPT-2 safetensors, llm.c .bin) is read whole, values checked by its reader.
    const { config, params } = await readCheckpoint(file);
    const model = await GPT.#make('GPT.load', config, opts, 0, false);
    try {
      model.#native.importParameters(params);
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model;
  }

  /** True when the weights live as bf16 (precision 'bf16' on the CPU): save() then writes BF16 tensors where exact. */
  get bf16Weights(): boolean {
    return this.precision === 'bf16' && this.device === 'cpu';
  }

  /**
   * Saves the parameters. A path ending in .safetensors gets headgrad's own single file (config
   * in __metadata__), written atomically. Any other path becomes a Hugging Face folder that
   * transformers loads (config.json and model.safetensors, sharded past maxShardBytes, default
   * 5e9), with the tokenizer files of the folder this model was loaded from; the folder is
   * written beside the target and swapped in whole. Tensors are F32, except that a bf16 model
   * writes the tensors it holds as bf16 as BF16 (exact) and the f32 masters of trained tensors as
   * F32, in either format; __metadata__.dtypes says which (and a folder's config.json torch_dtype
   * is 'bfloat16' only when every tensor is).
   */
  async save(file: string, o: SaveOptions = {}): Promise<void> {
    if (file.endsWith('.safetensors')) {
      const params = await this.#enqueue(async () => this.#native.exportParameters());
      await writeCheckpoint(file, this.config, params, undefined, this.bf16Weights ? { bf16Where: 'exact' } : {});
      return;
    }
    await this.#enqueue(() => writeHfFolder(file, this.config, (offset, length) => this.#native.exportParameterRange(offset, length),
      { maxShardBytes: o.maxShardBytes, companionsFrom: this.#source, modelType: this.#sourceType, bf16Where: this.bf16Weights ? 'exact' : undefined }));
  }

  forward(tokens: Int32Array, o: ForwardOptions): Promise<{ loss: number; logits?: Float32Array }> {
    return this.#call(() => {
      checkObject(o, 'forward options');
      const batch = checkPositiveInt(o.batch, 'forward options.batch');
      const seqLen = checkInt(o.seqLen, 'forward options.seqLen', 1, this.config.maxSeqLen);
      const n = batch * seqLen;
      // Copies first, checks on the copies: the native call runs later, after the queue.
      const ids = checkTokens(copy(tokens, Int32Array), 'tokens', n, 0, this.config.vocabSize);
      const targets = o.targets === undefined ? undefined
        : checkTokens(copy(o.targets, Int32Array), 'forward options.targets', n, -1, this.config.vocabSize);
      let lossWeights: Float32Array | undefined;
      if (o.lossWeights !== undefined) {
        if (targets === undefined) throw new HeadgradTypeError('forward options.lossWeights: needs targets as well');
        lossWeights = checkFloats(copy(o.lossWeights, Float32Array), 'forward options.lossWeights', n, 0);
      }
      const returnLogits = o.returnLogits === undefined ? undefined : checkBoolean(o.returnLogits, 'forward options.returnLogits');
      const scoresOnly = o.scoresOnly === undefined ? undefined : checkBoolean(o.scoresOnly, 'forward options.scoresOnly');
      if (scoresOnly && (targets === undefined || returnLogits)) {
        throw new HeadgradTypeError('forward options.scoresOnly: needs targets and cannot return logits (the LM head runs only at target positions)');
      }
      const plan = { rows: n, scoresOnly: scoresOnly === true };
      if (this.device === 'cpu' && !covers(this.#planned, plan)) {
        checkActivations('GPT.forward', this.config, this.precision, batch, seqLen, plan.scoresOnly, this.#planned);
        this.#planned = plan;
      }
      return () => this.#native.forward(ids, { batch, seqLen, targets, lossWeights, returnLogits, scoresOnly });
    });
  }

  /** headScores [layers, batch, heads]: the signed ∂L/∂ξ for a gate ξ on each head's output. */
  backward(o: BackwardOptions = {}): Promise<{ headScores: Float32Array }> {
    return this.#call(() => {
      checkObject(o, 'backward options');
      const scoresOnly = o.scoresOnly === undefined ? false : checkBoolean(o.scoresOnly, 'backward options.scoresOnly');
      return () => this.#native.backward({ scoresOnly });
    });
  }

  /**
   * Declares what later steps train: the fields of StepOptions that choose parameters (none:
   * everything, the default). A bf16 CPU model forms gradients, f32 masters and moments only for
   * this set, so call it before the first backward(); step() options that name no set use it,
   * and a bf16 model refuses a step naming another set, or a change of set once it holds
   * optimizer state (importParameters() starts over). For an f32 model it only sets the default
   * of step().
   */
  setTrainable(t: TrainableSet = {}): void {
    this.#sync('setTrainable');
    checkObject(t, 'trainable');
    const set: TrainableSet = {};
    if (t.trainableHeads !== undefined) {
      const n = this.config.layers * this.config.heads;
      if (!(t.trainableHeads instanceof Uint8Array)) throw new HeadgradTypeError(`trainable.trainableHeads: expected a Uint8Array [layers*heads], got ${describe(t.trainableHeads)}`);
      if (t.trainableHeads.length !== n) throw new HeadgradRangeError(`trainable.trainableHeads: expected length layers*heads = ${n}, got ${t.trainableHeads.length}`);
      set.trainableHeads = t.trainableHeads.slice();
    }
    for (const k of ['trainMlp', 'trainLayerNorm', 'trainEmbeddings'] as const) {
      if (t[k] !== undefined) set[k] = checkBoolean(t[k], `trainable.${k}`);
    }
    this.#native.setTrainable(set);
  }

  /** The engine's memory by kind, in bytes: weights (f32, or bf16 matrices + f32 vectors), masters, gradients, moments, activations. */
  residentBytes(): ResidentBytes {
    this.#sync('residentBytes');
    return this.#native.residentBytes();
  }

  step(o: StepOptions): Promise<void> {
    return this.#call(() => {
      checkObject(o, 'step options');
      const bounded = (k: keyof typeof STEP_BOUNDS) => checkNumberIn(o[k], `step options.${k}`, STEP_BOUNDS[k][0], STEP_BOUNDS[k][1]);
      const opts: StepOptions = { lr: bounded('lr') };
      for (const k of ['beta1', 'beta2', 'eps', 'weightDecay', 'gradClip'] as const) if (o[k] !== undefined) opts[k] = bounded(k);
      if (o.trainableHeads !== undefined) {
        const n = this.config.layers * this.config.heads;
        if (!(o.trainableHeads instanceof Uint8Array)) throw new HeadgradTypeError(`step options.trainableHeads: expected a Uint8Array [layers*heads], got ${describe(o.trainableHeads)}`);
        if (o.trainableHeads.length !== n) throw new HeadgradRangeError(`step options.trainableHeads: expected length layers*heads = ${n}, got ${o.trainableHeads.length}`);
        opts.trainableHeads = o.trainableHeads.slice();
      }
      for (const k of ['trainMlp', 'trainLayerNorm', 'trainEmbeddings'] as const) {
        if (o[k] !== undefined) opts[k] = checkBoolean(o[k], `step options.${k}`);
      }
      return () => this.#native.step(opts);
    });
  }

  /** Greedy decoding with a KV cache. Returns the new tokens only (not the prompt, not the stop token). */
  generate(prompt: Int32Array, o: GenerateOptions): Promise<Int32Array> {
    return this.#call(() => {
      const ids = checkTokens(copy(prompt, Int32Array), 'prompt', undefined, 0, this.config.vocabSize);
      if (ids.length < 1 || ids.length > this.config.maxSeqLen) {
        throw new HeadgradRangeError(`prompt: expected 1 to maxSeqLen = ${this.config.maxSeqLen} tokens, got ${ids.length}`);
      }
      checkObject(o, 'generate options');
      const opts = {
        maxNewTokens: checkInt(o.maxNewTokens, 'generate options.maxNewTokens', 0, this.config.maxSeqLen - ids.length),
        stopToken: o.stopToken === undefined ? undefined : checkInt(o.stopToken, 'generate options.stopToken', 0, this.config.vocabSize - 1),
      };
      return () => this.#native.generate(ids, opts);
    });
  }

  /** gates [layers*heads]: multiplies each head's output (1 = normal, 0 = ablated). */
  setHeadGates(g: Float32Array): void {
    this.#sync('setHeadGates');
    checkFloats(g, 'gates', this.config.layers * this.config.heads);
    this.#native.setHeadGates(g);
    this.#gates = g.slice();
  }

  /** A copy of the head gates in force ([layers*heads], all ones unless setHeadGates changed them). */
  headGates(): Float32Array {
    this.#sync('headGates');
    return this.#gates.slice();
  }

  /**
   * A copy of all parameters in the canonical layout (lib/checkpoint/layout.ts). It runs after the
   * calls queued before it and copies in chunks, yielding to the event loop between them, so a
   * large model (about 5 GB at 1B parameters) does not hold the main thread for the whole copy.
   */
  exportParameters(): Promise<Float32Array> {
    return this.#call(() => async () => {
      const out = new Float32Array(this.parameterCount);
      for (let offset = 0; offset < out.length; offset += TRANSFER_CHUNK) {
        out.set(this.#native.exportParameterRange(offset, Math.min(TRANSFER_CHUNK, out.length - offset)), offset);
        await yieldToEventLoop();
      }
      return out;
    });
  }

  /** exportParameters on the calling thread in one piece: for small models (it blocks for the whole copy). */
  exportParametersSync(): Float32Array {
    this.#sync('exportParametersSync');
    return this.#native.exportParameters();
  }

  /**
   * Replaces all parameters (canonical layout); resets AdamW: moments and step count start over.
   * Checks `p` and takes a copy when called, then writes in chunks after the calls queued before
   * it, yielding to the event loop between them.
   */
  importParameters(p: Float32Array): Promise<void> {
    return this.#call(() => {
      const params = checkFloats(copy(p, Float32Array), 'parameters', this.parameterCount);
      return async () => {
        for (let offset = 0; offset < params.length; offset += TRANSFER_CHUNK) {
          this.#native.importParameterRange(offset, params.subarray(offset, Math.min(params.length, offset + TRANSFER_CHUNK)));
          await yieldToEventLoop();
        }
      };
    });
  }

  /** importParameters on the calling thread in one piece: for small models (it blocks for the whole copy). */
  importParametersSync(p: Float32Array): void {
    this.#sync('importParametersSync');
    checkFloats(p, 'parameters', this.parameterCount);
    this.#native.importParameters(p);
  }

  /** A copy of parameters [offset, offset+length) of the canonical layout (streaming save). */
  exportParameterRange(offset: number, length: number): Float32Array {
    this.#sync('exportParameterRange');
    checkInt(offset, 'offset', 0, this.parameterCount);
    checkInt(length, 'length', 0, this.parameterCount - offset);
    return this.#native.exportParameterRange(offset, length);
  }

  /**
   * Sets parameters [offset, offset+data.length) of the canonical layout (streaming load: one
   * tensor at a time, no second full copy). Like importParameters, it resets AdamW.
   */
  importParameterRange(offset: number, data: Float32Array): void {
    this.#sync('importParameterRange');
    checkInt(offset, 'offset', 0, this.parameterCount);
    if (!(data instanceof Float32Array)) throw new HeadgradTypeError(`data: expected a Float32Array, got ${describe(data)}`);
    if (offset + data.length > this.parameterCount) {
      throw new HeadgradRangeError(`data: offset ${offset} + length ${data.length} exceeds the ${this.parameterCount} parameters`);
    }
    checkFloats(data, 'data', data.length);
    this.#native.importParameterRange(offset, data);
  }

  /**
   * Like importParameterRange, from bf16 bits (a Uint16Array, as a BF16 safetensors file stores
   * them): widened exactly in an f32 model, copied in a bf16 one, never rounded twice.
   */
  importParameterRangeBf16(offset: number, bits: Uint16Array): void {
    this.#sync('importParameterRangeBf16');
    checkInt(offset, 'offset', 0, this.parameterCount);
    if (!(bits instanceof Uint16Array)) throw new HeadgradTypeError(`bits: expected a Uint16Array of bf16 bits, got ${describe(bits)}`);
    if (offset + bits.length > this.parameterCount) {
      throw new HeadgradRangeError(`bits: offset ${offset} + length ${bits.length} exceeds the ${this.parameterCount} parameters`);
    }
    this.#native.importParameterRangeBf16(offset, bits); // the addon refuses a NaN or Inf
  }

  /** The gradients of the last backward, in the parameter layout (a bf16 model: 0 outside its trainable set). */
  exportGradients(): Float32Array {
    this.#sync('exportGradients');
    return this.#native.exportGradients();
  }

  /**
   * A copy of AdamW's state: moments m, v (zero before the first step) and the step count. An
   * f32 model's cover every parameter [parameterCount]; a bf16 model's cover its trainable set
   * and come with `master`, the f32 master values of that set.
   */
  exportOptimizerState(): OptimizerState {
    this.#sync('exportOptimizerState');
    return this.#native.exportOptimizerState();
  }

  /**
   * Restores AdamW's state (from exportOptimizerState or a training checkpoint), so the next
   * step() continues the same trajectory. importParameters() resets this state: import it after.
   */
  importOptimizerState(s: OptimizerState): void {
    this.#sync('importOptimizerState');
    checkObject(s, 'optimizer state');
    // a bf16 CPU model's state covers its trainable set: the addon checks that length exactly
    const n = this.bf16Weights && s.m instanceof Float32Array ? s.m.length : this.parameterCount;
    checkFloats(s.m, 'optimizer state.m', n);
    checkFloats(s.v, 'optimizer state.v', n, 0);
    if (s.master !== undefined) checkFloats(s.master, 'optimizer state.master', n);
    checkInt(s.step, 'optimizer state.step', 0, 2 ** 53 - 1);
    this.#native.importOptimizerState({ m: s.m, v: s.v, step: s.step, master: s.master });
  }

  /** Per-op-category milliseconds since creation or the last reset; null unless HEADGRAD_PROFILE=1 at create. */
  profile(reset = false): OpProfile | null {
    this.#sync('profile');
    return this.#native.profile(reset);
  }

  /** Frees the native memory once the calls already queued have finished; later calls throw. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    void this.#queue.then(() => this.#native.dispose());
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  // Validates now (so a bad call rejects at once), then runs the native call after the ones before it.
  #call<T>(prepare: () => () => Promise<T>): Promise<T> {
    try {
      this.#alive();
      return this.#enqueue(prepare());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #enqueue<T>(run: () => Promise<T>): Promise<T> {
    this.#pending++;
    const result = this.#queue.then(run).finally(() => this.#pending--);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  #alive(): void {
    if (this.#disposed) throw new HeadgradError('ERR_HEADGRAD_MODEL_STATE', 'GPT: this model has been disposed');
  }

  // Sync calls cannot wait in the queue; they refuse while async calls are pending.
  #sync(what: string): void {
    this.#alive();
    if (this.#pending > 0) throw new HeadgradError('ERR_HEADGRAD_MODEL_STATE', `GPT.${what}: ${this.#pending} call(s) on this model are still pending; await them first`);
  }
}

/** Floats per piece of an async parameter transfer (64 MiB): long enough to be fast, short enough to keep the event loop moving. */
const TRANSFER_CHUNK = 16 * 1024 * 1024;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

async function isDirectory(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isDirectory(), () => false);
}

// A copy of a typed array argument (anything else is returned as is, for the check to refuse).
function copy<T extends Int32Array | Float32Array>(a: unknown, type: { new (a: ArrayLike<number>): T; prototype: T }): T {
  return (a instanceof type ? a.slice() : a) as T;
}
