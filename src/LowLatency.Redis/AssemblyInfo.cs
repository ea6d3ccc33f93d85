using System.Runtime.CompilerServices;

// No stackalloc in this assembly relies on zero-initialised memory: number formatting writes every byte it reports.
[module: SkipLocalsInit]
