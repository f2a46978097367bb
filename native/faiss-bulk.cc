// Builds a FAISS index from a Float32Array in one call and writes it to a file, which
// faiss-node's Index.read then loads. faiss-node's own add() converts every JS number through
// N-API (~0.4 us each: 200 s for 1M 512-d vectors); here the floats are read in place.
// Compiled by scripts/build-faiss.mjs against the same libfaiss as faiss-node.
#include <napi.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/VectorTransform.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <memory>
#include <string>

// An IVF-flat index whose lists hold the exact vectors while vectors are assigned to lists in a
// PCA projection to `coarseDim` dimensions: adding 1M 512-d vectors to 1,024 lists then costs
// ~1M × 1,024 × 64 multiply-adds instead of × 512 (the bulk of a 1M build).
static faiss::Index *ivfWithProjectedQuantizer(int dim, int lists, int coarseDim)
{
  auto *coarse = new faiss::IndexPreTransform(new faiss::PCAMatrix(dim, coarseDim), new faiss::IndexFlatL2(coarseDim));
  coarse->own_fields = true;
  auto *ivf = new faiss::IndexIVFFlat(coarse, dim, lists, faiss::METRIC_L2);
  ivf->own_fields = true;
  return ivf;
}

// buildIndexFile(path, dim, descriptor, train: Float32Array | null, data: Float32Array, nprobe, trainIterations, coarseDim)
// descriptor: an index_factory string, or "IVF<lists>" with coarseDim > 0 (see above).
static Napi::Value BuildIndexFile(const Napi::CallbackInfo &info)
{
  Napi::Env env = info.Env();
  if (info.Length() != 8 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsString() || !info[4].IsTypedArray() || !info[5].IsNumber() || !info[6].IsNumber() || !info[7].IsNumber())
  {
    Napi::TypeError::New(env, "expected (path, dim, descriptor, train, data, nprobe, trainIterations, coarseDim)").ThrowAsJavaScriptException();
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
  try
  {
    const int coarseDim = info[7].As<Napi::Number>().Int32Value();
    std::unique_ptr<faiss::Index> index(coarseDim > 0 ? ivfWithProjectedQuantizer(dim, std::stoi(descriptor.substr(3)), coarseDim)
                                                      : faiss::index_factory(dim, descriptor.c_str(), faiss::METRIC_L2));
    auto *ivf = dynamic_cast<faiss::IndexIVF *>(index.get());
    if (ivf)
    {
      ivf->cp.niter = info[6].As<Napi::Number>().Int32Value();
      ivf->cp.min_points_per_centroid = 1; // the caller sizes the sample (few points per list, for build time)
      ivf->nprobe = info[5].As<Napi::Number>().Int32Value();
    }
    if (!index->is_trained)
    {
      if (!info[3].IsTypedArray())
      {
        Napi::Error::New(env, descriptor + " needs training vectors").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      auto train = info[3].As<Napi::Float32Array>();
      const size_t n = train.ElementLength() / dim;
      if (ivf && coarseDim > 0)
      {
        // The projection first, so k-means can assign through it; centroids stay full-dimensional.
        auto *coarse = dynamic_cast<faiss::IndexPreTransform *>(ivf->quantizer);
        coarse->chain[0]->train(n, train.Data());
        coarse->is_trained = true;
      }
      index->train(n, train.Data());
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
  exports.Set("buildIndexFile", Napi::Function::New(env, BuildIndexFile));
  return exports;
}

NODE_API_MODULE(faiss_bulk, Init)
