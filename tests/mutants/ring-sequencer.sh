#!/usr/bin/env bash
# Mutation check for the ring buffer's tests: each mutant breaks the sequencer in one way, in a throwaway copy of
# the tracked files, and the ring tests must fail for every one. Not part of CI (a mutant that loses wake-ups makes
# tests run into their deadlines, ~10 minutes in all). Usage: bash tests/mutants/ring-sequencer.sh
set -u
out=$out
mkdir -p "$out"
src=$(cd "$(dirname "$0")/../.." && pwd)
run() {
  name=$1; file=$2; pyexpr=$3
  rm -rf $out/$name; mkdir -p $out/$name
  (cd $src && git ls-files -z | xargs -0 -I{} cp --parents {} $out/$name/) 
  cd $out/$name
  python3 - "$file" "$pyexpr" <<'PY'
import sys
f, expr = sys.argv[1], sys.argv[2]
s = open(f).read()
old, new = expr.split('@@')
assert old in s, "pattern not found: " + old
s = s.replace(old, new, 1)
open(f, 'w').write(s)
PY
  dotnet test tests/LowLatency.Ring.Tests -c Release 2>&1 | grep -E '^\s+Failed |Passed!|Failed!' | sed "s/^/[$name] /" | sort -u > $out/$name.log
  rm -rf $out/$name
}
# 1. single producer publishes at claim time (before the producer has written the slot)
run sp-publish-on-claim src/LowLatency.Ring/Sequencing/SingleProducerSequencer.cs '    public override long Next()
    {
        var nextValue = _fields.NextValue;@@    public override long Next()
    {
        _cursor.SetValue(_fields.NextValue + 1);
        var nextValue = _fields.NextValue;'
# 2. single producer ignores the consumers (no wrap check)
run sp-no-gating src/LowLatency.Ring/Sequencing/SingleProducerSequencer.cs '        if (wrapPoint > cachedGatingSequence || cachedGatingSequence > nextValue)
        {
            WaitForCapacity(nextValue, wrapPoint);
        }

        _fields.NextValue = nextSequence;
        return nextSequence;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override long Next(int n)@@        _fields.NextValue = nextSequence;
        return nextSequence;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override long Next(int n)'
# 3. multi producer marks the slot available when it is claimed
run mp-publish-on-claim src/LowLatency.Ring/Sequencing/MultiProducerSequencer.cs '            WaitForCapacity(current, wrapPoint);
        }

        return next;@@            WaitForCapacity(current, wrapPoint);
        }

        for (var s = current + 1; s <= next; s++) { SetAvailable(s); }
        return next;'
# 4. barrier ignores unpublished multi-producer slots (trusts the claimed cursor)
run mp-trust-cursor src/LowLatency.Ring/Sequencing/SequenceBarrier.cs '        return published >= sequence ? published : WaitForPublication(sequence);@@        return published >= sequence ? available : WaitForPublication(sequence);'
# 5. processor forgets to re-check its state after clearing a stale alert (the lost-halt race)
run lost-halt src/LowLatency.Ring/Processing/BatchEventProcessor.cs '            if (Volatile.Read(ref _state) == Running)
            {@@            if (true)
            {'
survivors=0
for log in "$out"/*.log; do
  cat "$log"
  if ! grep -q 'Failed!' "$log"; then
    echo "SURVIVED (or did not build): $(basename "$log" .log)"; survivors=$((survivors + 1))
  fi
done
echo "mutants: $survivors survived"
[ "$survivors" -eq 0 ]
