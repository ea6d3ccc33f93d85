using System.Runtime.CompilerServices;

// No stackalloc in this assembly relies on zero-initialised memory: every encoder writes each byte it reports.
[module: SkipLocalsInit]
