// Package auditbench holds the audit log's benchmarks at scale (issue 15
// item 5, issue 19 item 5): the change review of one busy business over 30
// days, appending an event, `audit verify` and the CSV export, on SQLite and
// PostgreSQL, with an audit log of up to 10 million events over 10,000
// businesses.
//
// It has no code of its own outside its _test.go files and no tests, so the
// normal test suite runs nothing here. The benchmarks run only with -bench;
// the size comes from SELLERGUARD_AUDITBENCH_EVENTS and
// SELLERGUARD_AUDITBENCH_BUSINESSES (small by default, so a plain run is
// quick), and the seeded databases are kept in a cache (a directory under
// /tmp for SQLite, a database in the PostgreSQL server for PostgreSQL),
// keyed by schema version, data version and size, so reruns skip the seed.
// docs/benchmarks.md ("Audit log at scale") says how to run them and what
// they measured.
//
// Caveat: the seeded events are made by a generator, not by the services:
// their actions, chains, sessions and timestamps follow the real shapes
// (see seed_test.go), and every chain is a valid hash chain (audit.Hash),
// so `audit verify` passes on the seeded database.
package auditbench
