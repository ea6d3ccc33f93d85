using System.Runtime.CompilerServices;

// No stackalloc in this assembly relies on zero-initialised memory (the affinity mask is cleared explicitly),
// so skipping the zeroing of locals is safe and saves work on the hot path.
[module: SkipLocalsInit]
