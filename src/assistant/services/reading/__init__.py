"""Reading: the current document (a page, pasted text, notes), its passages, questions about it and summaries.

`documents` keeps what the user is reading; `passages` cuts it into pieces; `readers` loads the
optional QA and summary models lazily; `spans` picks answer spans; `textqa` answers questions;
`summarize` writes summaries. Built as services in `assistant.services.factories`.
"""
