using System.Runtime.CompilerServices;

// No stackalloc in this assembly relies on zero-initialised memory.
[module: SkipLocalsInit]
