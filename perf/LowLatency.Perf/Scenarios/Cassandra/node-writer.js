// The baseline of the cassandra-write scenario: the Node cassandra-driver (DataStax) inserting rows of the sink's
// assets table with executeConcurrent, as issue 7's "8k-10k rows/s" figure was measured. The rows are the ones
// CassandraWriteScenario.Row generates for our sink (same symbols, times and values; a random id per row), bound to the
// same prepared INSERT. Connecting and building the parameters happen before the clock starts; preparing the statement
// (one round trip) is inside it, as executeConcurrent does it on first use.
//
// usage: node node-writer.js HOST PORT KEYSPACE ROWS SYMBOLS CONCURRENCY
// prints one JSON line: {"rows":N,"seconds":S,"cpuSeconds":C,"errors":E,"firstError":null} (C: this process's CPU while timed)
'use strict';
const cassandra = require('cassandra-driver');

async function main() {
  const [host, port, keyspace, rowsText, symbolsText, concurrencyText] = process.argv.slice(2);
  const rows = Number(rowsText);
  const symbols = Number(symbolsText);
  const client = new cassandra.Client({
    contactPoints: [host],
    protocolOptions: { port: Number(port), maxVersion: 3 },
    localDataCenter: 'datacenter1',
    socketOptions: { readTimeout: 12000 },
  });
  await client.connect();

  const query = `INSERT INTO ${keyspace}.assets (id, asset_name, open, high, low, close, volume, quote_volume, trades, ` +
    'is_closed, timestamp, close_time, collected_at, consumed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
  const names = Array.from({ length: symbols }, (_, s) => `PERF${String(s).padStart(3, '0')}USDT`);
  const baseMs = 1723161240000;
  const values = new Array(rows);
  for (let i = 0; i < rows; i++) {
    // Keep in step with CassandraWriteScenario.Row.
    const openMs = baseMs + Math.floor(i / symbols) * 60000;
    const price = 100 + (i % 997) * 0.01;
    values[i] = [
      cassandra.types.Uuid.random(), names[i % symbols],
      price, price + 1, price - 1, price + 0.5, 12.345 + (i % 13), 763456.789 + i % 101,
      1000 + (i % 500), (i & 1) === 0,
      new Date(openMs), new Date(openMs + 59999), new Date(openMs + 60123), new Date(openMs + 60456),
    ];
  }

  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const result = await cassandra.concurrent.executeConcurrent(client, query, values, {
    prepare: true,
    concurrencyLevel: Number(concurrencyText),
    raiseOnFirstError: false,
    collectResults: false,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  await client.shutdown();
  process.stdout.write(JSON.stringify({ rows, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, errors: result.errors.length,
    firstError: result.errors.length > 0 ? String(result.errors[0]) : null }) + '\n');
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
