"""The labels an enrollment ends with, and the control group's branch name: one place, since
the engine, the blocks, the results and the admin all read them."""

# Ends of a scenario: end blocks' usual labels (staff may type others) and the engine's exits.
REACTIVATED = "reactivated"
LET_GO = "let go"
CLEANED = "cleaned"
UNSUBSCRIBED = "unsubscribed"
BLOCK_REMOVED = "block removed"
# The results count these as "let go".
LET_GO_OUTCOMES = (LET_GO, CLEANED)
KNOWN_OUTCOMES = (REACTIVATED, LET_GO, CLEANED, UNSUBSCRIBED, BLOCK_REMOVED)

# The kind of the log row the engine writes when an enrollment exits (not a block run).
EXIT_STEP = "exit"

# The A/B split's branch that receives nothing.
CONTROL = "control"
