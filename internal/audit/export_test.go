package audit

// SetChainPartMin sets the fewest events a part of VerifyChain's read
// holds, for a test, and returns the undo.
func SetChainPartMin(n int64) (undo func()) {
	old := chainPartMin
	chainPartMin = n
	return func() { chainPartMin = old }
}

// VerifyChainInParts is verifyChainInParts, for a test.
var VerifyChainInParts = verifyChainInParts
