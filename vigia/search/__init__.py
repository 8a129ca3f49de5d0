"""Reading the index for people: the query model (validation, day bounds in El Salvador time)
on top of the store's requests. The CLI and, next, the web page, exports and alerts use it."""
