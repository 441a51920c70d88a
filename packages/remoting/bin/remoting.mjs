#!/usr/bin/env node
// The `remoting` command: the compiled CLI (dist/ is built by prepack).
import '../dist/cli/main.js';
