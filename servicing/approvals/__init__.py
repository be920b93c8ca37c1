"""Four eyes on money: every money-moving action previewed before it is done, and some approved by a second person.

`actions` names the actions and runs them through the existing use cases; `effects` previews one (run in a
savepoint that is rolled back: the figures are the core's own, nothing is committed) and fingerprints a loan's
state; `requests` keeps a maker's request until a checker approves (it runs then, once) or rejects it.
docs/console-loans.md, "Four eyes on money".
"""
