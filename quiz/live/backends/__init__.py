"""Where the game's side effects on the broker go, one module per backend (QUIZ_LIVE_BACKEND
names one): `stomp`, the broker the STOMP_* settings name; `locmem`, a list, for tests."""
