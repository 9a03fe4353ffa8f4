"""drkit's incident console (Textual). Consumes drkit.service only: no SQL, no decisions here."""
