#pragma once

namespace exitscope::core {

/// Keeps freed activation memory in the process between batches. By default
/// glibc returns large freed blocks to the kernel (mmap threshold 128 KiB
/// growing with use, trim threshold 128 KiB), so every batch of the executor
/// faulted its activations in again: 530-620 thousand minor page faults per
/// 10,000 images. With a 32 MiB mmap threshold and a 1 GiB trim threshold
/// the memory is reused. $EXITSCOPE_MALLOC_DEFAULTS=1 keeps glibc's defaults
/// (to measure the difference). Call once at program start, before the first
/// network runs (the CLI, the app's network plugin and the benchmarks do);
/// a no-op where the C library is not glibc.
void keepFreedMemoryForReuse();

} // namespace exitscope::core
