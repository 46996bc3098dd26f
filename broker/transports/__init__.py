"""The transports, one module each, as thin adapters that move bytes between sockets and
`broker.session.Session`: `tcp` (STOMP over TCP) and `websocket` (STOMP over WebSocket), and
what both share (`sockets`)."""
