package store

import "context"

// Row locks for the changes that read, decide and then write: "is this
// still pending?", "is another method left?", "is another supervisor
// still active?". SQLite runs every transaction BEGIN IMMEDIATE, so writers
// already take turns and each sees what the one before it committed.
// PostgreSQL runs READ COMMITTED: without a lock two such transactions
// both see the state before either wrote, and both act on it (a code
// confirmed twice, an action approved twice, the last second step removed
// twice over). Each lock takes the row of the thing the decision is about
// (FOR NO KEY UPDATE, held to the end of the transaction: it excludes the
// other lockers and any update of the row, not the inserts elsewhere that
// only reference it, such as a sign-in's session); a transaction that
// waited for it then reads what the other committed, since every
// statement of a READ COMMITTED transaction sees the commits made before
// it began. Take the lock first, then read and decide, in the same
// transaction. A missing row locks nothing (the reads after it say so).
//
// The tables are constants of this file, never input.

// WithUserTx is WithTx with the user's row locked first (LockUser): the
// transaction of a change to one user's account that decides on what it
// reads.
func (db *DB) WithUserTx(ctx context.Context, userID string, fn func(tx *Tx) error) error {
	return db.withLocked(ctx, (*Tx).LockUser, userID, fn)
}

// WithBusinessTx is WithTx with the business's row locked first
// (LockBusiness).
func (db *DB) WithBusinessTx(ctx context.Context, businessID string, fn func(tx *Tx) error) error {
	return db.withLocked(ctx, (*Tx).LockBusiness, businessID, fn)
}

func (db *DB) withLocked(ctx context.Context, lock func(*Tx, context.Context, string) error, id string, fn func(tx *Tx) error) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		if err := lock(tx, ctx, id); err != nil {
			return err
		}
		return fn(tx)
	})
}

// LockUser serialises the changes of one user's account: second-step
// methods, email and phone changes, passwords.
func (tx *Tx) LockUser(ctx context.Context, userID string) error {
	return tx.lockRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE`, userID)
}

// LockUserByEmail is LockUser by the account's sign-in address (none:
// nothing is locked), for the changes that know only the address (the
// tries of a recovery code).
func (tx *Tx) LockUserByEmail(ctx context.Context, emailNorm string) error {
	return tx.lockRow(ctx, `SELECT 1 FROM users WHERE email_norm = $1 FOR NO KEY UPDATE`, emailNorm)
}

// LockSignup serialises the tries of one sign-up's code (its attempts
// are counted in the row: eight wrong codes at once are eight tries).
func (tx *Tx) LockSignup(ctx context.Context, emailNorm string) error {
	return tx.lockRow(ctx, `SELECT 1 FROM signups WHERE email_norm = $1 FOR NO KEY UPDATE`, emailNorm)
}

// LockBusiness serialises the changes of one business's team:
// invitations, ownership transfers, deposit accounts.
func (tx *Tx) LockBusiness(ctx context.Context, businessID string) error {
	return tx.lockRow(ctx, `SELECT 1 FROM businesses WHERE id = $1 FOR NO KEY UPDATE`, businessID)
}

// LockSupportCase serialises the changes of one support case: its state,
// its actions (request, approval, cancellation) and its disowning.
func (tx *Tx) LockSupportCase(ctx context.Context, caseID string) error {
	return tx.lockRow(ctx, `SELECT 1 FROM support_cases WHERE id = $1 FOR NO KEY UPDATE`, caseID)
}

// LockSupportAgent serialises the changes of one support agent (its
// enrolment).
func (tx *Tx) LockSupportAgent(ctx context.Context, agentID string) error {
	return tx.lockRow(ctx, `SELECT 1 FROM support_agents WHERE id = $1 FOR NO KEY UPDATE`, agentID)
}

// LockSupervisors serialises the changes that must leave an active
// supervisor: it locks every supervisor's row, in id order (so two such
// transactions cannot deadlock).
func (tx *Tx) LockSupervisors(ctx context.Context) error {
	return tx.lockRow(ctx, `SELECT 1 FROM support_agents WHERE role = $1 ORDER BY id FOR NO KEY UPDATE`, "supervisor")
}

func (tx *Tx) lockRow(ctx context.Context, query, arg string) error {
	if tx.dialect != Postgres {
		return nil // BEGIN IMMEDIATE: this transaction already holds the write lock
	}
	_, err := tx.q.ExecContext(ctx, query, arg) // the rows are locked, not read
	return err
}
