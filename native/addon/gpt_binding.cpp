// Placeholder: the GPT bindings land with their issue.
#include <napi.h>
namespace hg {
namespace addon {
void InitGPT(Napi::Env env, Napi::Object exports) {}
}  // namespace addon
}  // namespace hg
