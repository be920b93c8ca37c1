"""The handoff summary a specialist reads at the top of a conversation (docs/console-conversations.md).

- `summary`: `handoff_summary` builds it as data: a list of sections, each made by one builder of `SECTIONS`.
  A new kind of context (issue 18's explanations of payments and fees) is one more builder in that list and
  one template, `console/templates/conversations/summary/<kind>.html`.
"""
