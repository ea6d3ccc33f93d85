using System.Runtime.CompilerServices;

// No stackalloc in this assembly relies on zeroed memory.
[module: SkipLocalsInit]
