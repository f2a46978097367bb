// Builds a FAISS index from a Float32Array in one call and writes it to a file. faiss-node's own
// add() converts every JS number through N-API (~0.4 us each: 200 s for 1M 512-d vectors); here
// the floats are read in place. Exact indexes are then read by faiss-node; sketch indexes by
// readIndex below, whose IndexLSH scans its codes with the CPU's popcount instruction: Debian's
// libfaiss is compiled for baseline x86-64, without it, and its scan of 1M 256-bit codes took
// 11-14 ms against ~2.5 ms here (about the time to read 32 MB). Compiled by
// scripts/build-faiss.mjs against the same libfaiss as faiss-node.
#include <napi.h>
#include <faiss/IndexLSH.h>
#include <faiss/IndexRefine.h>
#include <faiss/impl/FaissAssert.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <faiss/utils/Heap.h>
#include <cstring>
#include <memory>
#include <omp.h>
#include <regex>
#include <string>
#include <vector>

// "LSH<bits>rt,RFlat" (faiss's factory parses LSH only with bits = dim): sign bits of a random
// rotation with trained thresholds, candidates re-ranked by exact distance to the stored vectors.
static std::unique_ptr<faiss::Index> makeIndex(int dim, const std::string &descriptor, double kFactor)
{
  std::smatch sketch;
  if (!std::regex_match(descriptor, sketch, std::regex("LSH([0-9]+)(r?)(t?),RFlat")))
    return std::unique_ptr<faiss::Index>(faiss::index_factory(dim, descriptor.c_str(), faiss::METRIC_L2));
  auto *refine = new faiss::IndexRefineFlat(new faiss::IndexLSH(dim, std::stoi(sketch[1]), sketch[2].length() > 0, sketch[3].length() > 0));
  refine->own_fields = true;
  refine->k_factor = kFactor;
  return std::unique_ptr<faiss::Index>(refine);
}

// Threads for building; searches (one query each) run on the calling thread alone: a parallel
// region for one query only adds a barrier, and on a busy machine that barrier waits for a
// descheduled thread (median 147 ms vs 13 ms at 1M memories). The setting is libgomp's, shared
// with faiss-node's addon, which runs the exact searches.
static int buildThreads = 1;
struct BuildThreads
{
  BuildThreads() { omp_set_num_threads(buildThreads); }
  ~BuildThreads() { omp_set_num_threads(1); }
};

// Each throws in JavaScript and returns undefined, for `return xError(...)` from a binding.
static Napi::Value argumentError(Napi::Env env, const std::string &message)
{
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

static Napi::Value dataError(Napi::Env env, const std::string &message)
{
  Napi::Error::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

static Napi::Value faissError(Napi::Env env, const std::exception &ex) { return dataError(env, ex.what()); }

// buildIndexFile(path, dim, descriptor, train: Float32Array | null, data: Float32Array, kFactor)
static Napi::Value BuildIndexFile(const Napi::CallbackInfo &info)
{
  Napi::Env env = info.Env();
  if (info.Length() != 6 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsString() || !info[4].IsTypedArray() || !info[5].IsNumber())
    return argumentError(env, "expected (path, dim, descriptor, train, data, kFactor)");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  const int dim = info[1].As<Napi::Number>().Int32Value();
  const std::string descriptor = info[2].As<Napi::String>().Utf8Value();
  auto data = info[4].As<Napi::Float32Array>();
  if (dim <= 0 || data.ElementLength() % dim != 0)
    return dataError(env, "data length is not a multiple of dim");
  BuildThreads threads;
  try
  {
    auto index = makeIndex(dim, descriptor, info[5].As<Napi::Number>().DoubleValue());
    if (!index->is_trained)
    {
      if (!info[3].IsTypedArray())
        return dataError(env, descriptor + " needs training vectors");
      auto train = info[3].As<Napi::Float32Array>();
      index->train(train.ElementLength() / dim, train.Data());
    }
    index->add(data.ElementLength() / dim, data.Data());
    faiss::write_index(index.get(), path.c_str());
  }
  catch (const std::exception &ex)
  {
    return faissError(env, ex);
  }
  return env.Undefined();
}

#if defined(__x86_64__)
#define WITH_POPCNT __attribute__((target("popcnt")))
static bool cpuHasPopcnt()
{
  static const bool has = (__builtin_cpu_init(), __builtin_cpu_supports("popcnt"));
  return has;
}
#else
#define WITH_POPCNT // elsewhere (arm64) the builtin compiles to the CPU's own bit count already
static bool cpuHasPopcnt() { return true; }
#endif

// Offers each code (Words 64-bit words) to `query`'s max-heap of k by Hamming distance, as
// faiss's own scan does (same heap, same label order: the same ties are kept). Words is a
// constant and the loop unrolled: 2.6 ms per 1M 256-bit codes, against 4.4 ms with a loop over words.
template <size_t Words>
WITH_POPCNT static void scanCodes(const uint8_t *query, const uint8_t *codes, size_t n, size_t k, int *heapDistances, int64_t *heapLabels)
{
  uint64_t q[Words], code[Words];
  std::memcpy(q, query, sizeof q);
  for (size_t j = 0; j < n; j++, codes += sizeof code)
  {
    std::memcpy(code, codes, sizeof code);
    int distance = 0;
#pragma GCC unroll 8
    for (size_t w = 0; w < Words; w++)
      distance += __builtin_popcountll(code[w] ^ q[w]);
    if (distance < heapDistances[0])
      faiss::maxheap_replace_top<int>(k, heapDistances, heapLabels, distance, j);
  }
}

// An IndexLSH whose search scans with popcount: the queries are coded by faiss (sa_encode: its
// rotation and thresholds), the results are IndexLSH::search's. faiss::write_index stores it as
// the IndexLSH it is, so the file format does not change.
struct PopcountLSH : faiss::IndexLSH
{
  explicit PopcountLSH(const faiss::IndexLSH &lsh) : faiss::IndexLSH(lsh) {}

  void search(idx_t n, const float *x, idx_t k, float *distances, idx_t *labels, const faiss::SearchParameters *params = nullptr) const override
  {
    auto scan = code_size == 32 ? scanCodes<4> : code_size == 64 ? scanCodes<8> : nullptr; // 256 or 512 bits
    if (params || !scan || !cpuHasPopcnt())
      return faiss::IndexLSH::search(n, x, k, distances, labels, params);
    FAISS_THROW_IF_NOT(k > 0 && is_trained);
    std::vector<uint8_t> queryCodes(n * code_size);
    sa_encode(n, x, queryCodes.data());
    std::vector<int> hamming(n * k);
    faiss::int_maxheap_array_t heaps = {size_t(n), size_t(k), labels, hamming.data()};
    heaps.heapify();
    for (idx_t i = 0; i < n; i++)
      scan(&queryCodes[i * code_size], codes.data(), ntotal, k, &hamming[i * k], &labels[i * k]);
    heaps.reorder();
    std::copy(hamming.begin(), hamming.end(), distances);
  }
};

// A PopcountLSH copy of `index` if it is an IndexLSH (its codes copied: 32 MB at 1M), else null.
static faiss::Index *withPopcountScan(const faiss::Index *index)
{
  auto *lsh = dynamic_cast<const faiss::IndexLSH *>(index);
  return lsh ? new PopcountLSH(*lsh) : nullptr;
}

// The index in the file, its IndexLSH (alone, or under IndexRefine: a sketch) a PopcountLSH.
static std::unique_ptr<faiss::Index> readWithPopcountScan(const std::string &path)
{
  std::unique_ptr<faiss::Index> index(faiss::read_index(path.c_str()));
  auto *refine = dynamic_cast<faiss::IndexRefine *>(index.get());
  if (refine && refine->own_fields)
  {
    if (faiss::Index *lsh = withPopcountScan(refine->base_index))
    {
      delete refine->base_index;
      refine->base_index = lsh;
    }
  }
  else if (faiss::Index *lsh = withPopcountScan(index.get()))
    index.reset(lsh);
  return index;
}

// A JS Array of numbers, n rows of dim, as floats; false if it is not one.
static bool readRows(const Napi::Value &value, size_t dim, std::vector<float> &rows)
{
  if (!value.IsArray())
    return false;
  auto array = value.As<Napi::Array>();
  if (array.Length() % dim != 0)
    return false;
  rows.resize(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++)
  {
    Napi::Value item = array[i];
    if (!item.IsNumber())
      return false;
    rows[i] = item.As<Napi::Number>().FloatValue();
  }
  return true;
}

// Bytes the index holds (its codes; under IndexRefine, the sketch's and the full vectors').
static int64_t heldBytes(const faiss::Index *index)
{
  if (auto *refine = dynamic_cast<const faiss::IndexRefine *>(index))
    return heldBytes(refine->base_index) + heldBytes(refine->refine_index);
  if (auto *codes = dynamic_cast<const faiss::IndexFlatCodes *>(index))
    return int64_t(codes->codes.size());
  return index->ntotal * index->d * int64_t(sizeof(float));
}

// A faiss index for JavaScript with the methods of faiss-node's Index that FaissStore and
// EpisodicMemory call (ntotal, getDimension, add, search, write): same arguments and results;
// bad arguments and faiss's own errors throw, never abort the process.
class NativeIndex : public Napi::ObjectWrap<NativeIndex>
{
public:
  static Napi::Function Define(Napi::Env env)
  {
    const auto method = napi_default_method; // writable, as a JS class's methods are (tests spy on them)
    return DefineClass(env, "NativeIndex", {
      InstanceMethod("ntotal", &NativeIndex::Ntotal, method),
      InstanceMethod("getDimension", &NativeIndex::GetDimension, method),
      InstanceMethod("add", &NativeIndex::Add, method),
      InstanceMethod("search", &NativeIndex::Search, method),
      InstanceMethod("write", &NativeIndex::Write, method),
    });
  }

  // Made only by readIndex, which hands over the index it read.
  NativeIndex(const Napi::CallbackInfo &info) : Napi::ObjectWrap<NativeIndex>(info)
  {
    if (info.Length() != 1 || !info[0].IsExternal())
      argumentError(info.Env(), "a NativeIndex is made by readIndex(path)");
    else
    {
      index.reset(info[0].As<Napi::External<faiss::Index>>().Data());
      reportHeldBytes(info.Env());
    }
  }

  // Gives the memory back to V8's count (the index itself is freed by unique_ptr).
  void Finalize(Napi::Env env) override { Napi::MemoryManagement::AdjustExternalMemory(env, -reported); }

private:
  std::unique_ptr<faiss::Index> index;
  // What V8 is told this object holds: up to 2 GB at 1M memories behind a small JS object, which
  // V8 would otherwise not collect sooner for; an evicted index (EpisodicMemory's LRU) is freed
  // only when its wrapper is collected.
  int64_t reported = 0;

  void reportHeldBytes(Napi::Env env)
  {
    const int64_t held = heldBytes(index.get());
    Napi::MemoryManagement::AdjustExternalMemory(env, held - reported);
    reported = held;
  }

  Napi::Value Ntotal(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), double(index->ntotal)); }

  Napi::Value GetDimension(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), double(index->d)); }

  // add(x: number[]): x.length / d vectors, labelled ntotal, ntotal + 1, ...
  Napi::Value Add(const Napi::CallbackInfo &info)
  {
    std::vector<float> rows;
    if (info.Length() != 1 || !readRows(info[0], index->d, rows))
      return argumentError(info.Env(), "add(x): x must be an Array of numbers, a multiple of " + std::to_string(index->d) + " long");
    try
    {
      index->add(rows.size() / index->d, rows.data());
    }
    catch (const std::exception &ex)
    {
      return faissError(info.Env(), ex);
    }
    reportHeldBytes(info.Env());
    return info.Env().Undefined();
  }

  // search(x: number[], k): { distances, labels }, k per query (x.length / d queries), nearest
  // first; labels -1 where fewer are found.
  Napi::Value Search(const Napi::CallbackInfo &info)
  {
    Napi::Env env = info.Env();
    std::vector<float> queries;
    if (info.Length() != 2 || !readRows(info[0], index->d, queries))
      return argumentError(env, "search(x, k): x must be an Array of numbers, a multiple of " + std::to_string(index->d) + " long");
    const double k = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
    if (!(k >= 0 && k <= index->ntotal && k == double(int64_t(k))))
      return argumentError(env, "search(x, k): k must be an integer from 0 to ntotal (" + std::to_string(index->ntotal) + ")");
    const size_t results = queries.size() / index->d * size_t(k);
    std::vector<float> distances(results);
    std::vector<faiss::Index::idx_t> labels(results);
    try
    {
      if (results > 0)
        index->search(queries.size() / index->d, queries.data(), int64_t(k), distances.data(), labels.data());
    }
    catch (const std::exception &ex)
    {
      return faissError(env, ex);
    }
    auto jsDistances = Napi::Array::New(env, results);
    auto jsLabels = Napi::Array::New(env, results);
    for (size_t i = 0; i < results; i++)
    {
      jsDistances[i] = Napi::Number::New(env, distances[i]);
      jsLabels[i] = Napi::Number::New(env, double(labels[i]));
    }
    auto result = Napi::Object::New(env);
    result.Set("distances", jsDistances);
    result.Set("labels", jsLabels);
    return result;
  }

  // write(path): the file faiss::write_index writes (a PopcountLSH as the IndexLSH it is)
  Napi::Value Write(const Napi::CallbackInfo &info)
  {
    if (info.Length() != 1 || !info[0].IsString())
      return argumentError(info.Env(), "write(path): path must be a string");
    try
    {
      faiss::write_index(index.get(), info[0].As<Napi::String>().Utf8Value().c_str());
    }
    catch (const std::exception &ex)
    {
      return faissError(info.Env(), ex);
    }
    return info.Env().Undefined();
  }
};

// readIndex(path): the index in the file as a NativeIndex, read once
static Napi::Value ReadIndex(const Napi::CallbackInfo &info)
{
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsString())
    return argumentError(env, "readIndex(path): path must be a string");
  std::unique_ptr<faiss::Index> index;
  try
  {
    index = readWithPopcountScan(info[0].As<Napi::String>().Utf8Value());
  }
  catch (const std::exception &ex)
  {
    return faissError(env, ex);
  }
  auto external = Napi::External<faiss::Index>::New(env, index.release());
  return env.GetInstanceData<Napi::FunctionReference>()->New({external});
}

static Napi::Object Init(Napi::Env env, Napi::Object exports)
{
  buildThreads = omp_get_max_threads();
  omp_set_num_threads(1);
  env.SetInstanceData(new Napi::FunctionReference(Napi::Persistent(NativeIndex::Define(env))));
  exports.Set("buildIndexFile", Napi::Function::New(env, BuildIndexFile));
  exports.Set("readIndex", Napi::Function::New(env, ReadIndex));
  return exports;
}

NODE_API_MODULE(faiss_bulk, Init)
