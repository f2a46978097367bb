// Builds a FAISS index from a Float32Array in one call and writes it to a file, which
// faiss-node's Index.read then loads. faiss-node's own add() converts every JS number through
// N-API (~0.4 us each: 200 s for 1M 512-d vectors); here the floats are read in place.
// Compiled by scripts/build-faiss.mjs against the same libfaiss as faiss-node.
#include <napi.h>
#include <faiss/IndexLSH.h>
#include <faiss/IndexRefine.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <memory>
#include <omp.h>
#include <regex>
#include <string>

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
// with faiss-node's addon, which runs the searches.
static int buildThreads = 1;
struct BuildThreads
{
  BuildThreads() { omp_set_num_threads(buildThreads); }
  ~BuildThreads() { omp_set_num_threads(1); }
};

// buildIndexFile(path, dim, descriptor, train: Float32Array | null, data: Float32Array, kFactor)
static Napi::Value BuildIndexFile(const Napi::CallbackInfo &info)
{
  Napi::Env env = info.Env();
  if (info.Length() != 6 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsString() || !info[4].IsTypedArray() || !info[5].IsNumber())
  {
    Napi::TypeError::New(env, "expected (path, dim, descriptor, train, data, kFactor)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  const int dim = info[1].As<Napi::Number>().Int32Value();
  const std::string descriptor = info[2].As<Napi::String>().Utf8Value();
  auto data = info[4].As<Napi::Float32Array>();
  if (dim <= 0 || data.ElementLength() % dim != 0)
  {
    Napi::Error::New(env, "data length is not a multiple of dim").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  BuildThreads threads;
  try
  {
    auto index = makeIndex(dim, descriptor, info[5].As<Napi::Number>().DoubleValue());
    if (!index->is_trained)
    {
      if (!info[3].IsTypedArray())
      {
        Napi::Error::New(env, descriptor + " needs training vectors").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      auto train = info[3].As<Napi::Float32Array>();
      index->train(train.ElementLength() / dim, train.Data());
    }
    index->add(data.ElementLength() / dim, data.Data());
    faiss::write_index(index.get(), path.c_str());
  }
  catch (const std::exception &ex)
  {
    Napi::Error::New(env, ex.what()).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

static Napi::Object Init(Napi::Env env, Napi::Object exports)
{
  buildThreads = omp_get_max_threads();
  omp_set_num_threads(1);
  exports.Set("buildIndexFile", Napi::Function::New(env, BuildIndexFile));
  return exports;
}

NODE_API_MODULE(faiss_bulk, Init)
