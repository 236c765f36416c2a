// Instrumentation, not a change of behaviour: counts the store's outermost write
// transactions — each one a commit, i.e. an fsync of the WAL under synchronous=FULL — so a
// run can report commits per task, a number that does not depend on this machine's disk.
// Import before the code that opens the database (better-sqlite3 is one module instance).
import Database from 'better-sqlite3';

let commits = 0;
const original = Database.prototype.transaction;
Database.prototype.transaction = function countedTransaction(fn) {
  const tx = original.call(this, fn);
  const db = this;
  const counted = (run) =>
    function (...args) {
      if (!db.inTransaction) commits++;
      return run.apply(this, args);
    };
  const wrapped = counted(tx);
  for (const variant of ['deferred', 'immediate', 'exclusive']) wrapped[variant] = counted(tx[variant]);
  wrapped.default = wrapped;
  return wrapped;
};

export const commitCount = () => commits;
