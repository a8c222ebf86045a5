// The Node.js side of the message comparison (scripts/bench-messages): the
// `ws` package's WebSocket server with its default settings, echoing every
// message back as it came (binary as binary). Usage: node ws_echo.js PORT
'use strict';
const { WebSocketServer } = require('ws');
const port = Number(process.argv[2] || 9001);
const wss = new WebSocketServer({ host: '127.0.0.1', port });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => console.log(`listening on 127.0.0.1:${port}`));
