// go-worker.js: runs a Go WASM worker module (a main package built with
// GOOS=js GOARCH=wasm that uses github.com/atmoworkers/atmo/wasm/worker)
// inside a Web Worker or a Node.js worker_threads Worker.
//
// The host starts this script (atmo does it for WorkerConfig.Module, from a
// copy embedded in the Go program) and posts one message saying what to run:
//
//   {message: 'go-module', module: WebAssembly.Module, url, wasmExec}  compiled once by the host
//   {message: 'go-module', url, wasmExec}                              fetched and compiled here
//
// The host may post {message: 'go-prepare', wasmExec} first, as soon as the
// worker exists: wasm_exec.js then loads while the module is compiling.
// Either message may also carry the same wasm_exec.js that the host read
// once for all its workers, as wasmExecText (its source, run here with an
// indirect eval) and as wasmExecCopy (a Blob URL of it): the text is run
// if it defines Go, else the copy is loaded, else wasmExec (a page's policy
// may refuse eval, or blob: scripts). Either spares this worker a request;
// the text spares it a load too, which took ~4.8 ms of a Web Worker's start
// from a Blob URL against <1 ms for the eval (examples/bench/NOTES.md, Go
// start-up, the twenty-sixth session). Where the host's download of it was
// answered with an error, go-module carries that status instead, as
// wasmExecStatus ("404 Not Found"), for the error to name.
//
// url names the module (a URL; a file path under Node.js). wasmExec is where
// the wasm_exec.js of the Go that built the module is: a URL in the browser,
// by default location.origin + '/wasm_exec.js'; a file path under Node.js,
// where it has no default ($(go env GOROOT)/lib/wasm/wasm_exec.js).
//
// Protocol messages that arrive before the Go program listens (init-worker
// first of all) are kept and handed to it in order once it does. When the Go
// program ends (os.Exit, a panic in a goroutine, main returning), this posts
// {message: 'worker-exit', error: 'Go runtime exited with code N: …'} and
// closes the worker, so the host fails the running task instead of waiting.
// A module that cannot be loaded ends the same way, with the reason; one
// built for another target (GOOS=wasip1, no Go at all: see wrongTarget),
// one built by a Go whose wasm_exec.js is not the one loaded (see otherGo),
// or one that is no atmo worker (see notAWorker), adds permanent: true, as
// starting it again would fail the same way.
//
// When init-worker names a Web Lock (`lock`), this thread takes it before
// the Go program sees init-worker and holds it for as long as it lives, and
// worker-ready says so ({lock} in its content): the host is granted the lock
// when the thread ends, however it ends, and so learns of it. Where locks
// are refused (an opaque origin), it starts without one and says none.
(function (root) {
  'use strict';

  const inWebWorker = typeof WorkerGlobalScope !== 'undefined' && root instanceof WorkerGlobalScope;
  const port = inWebWorker ? webPort() : nodePort();

  // A message with nothing to transfer is posted without a transfer list,
  // which Chromium handles ~20 µs faster (measured).
  // A buffer moved already cannot be moved again: Chromium throws, Node.js
  // 20 drops the message without a word, so the poster throws first.
  function movedAlready(list) {
    for (const b of list) {
      if (!(b instanceof ArrayBuffer) || b.byteLength !== 0) continue;
      if (b.detached === true) return true;
      try { new Uint8Array(b); } catch (_) { return true; } // Node.js 20 has no detached
    }
    return false;
  }
  function poster(target) {
    return (msg, transfer) => {
      if (!transfer || !transfer.length) return target.postMessage(msg);
      // One buffer listed twice (two views of it, each worker.Transfer'd)
      // moves once: postMessage throws on a duplicate.
      if (transfer.length > 1) transfer = [...new Set(transfer)];
      if (movedAlready(transfer)) throw new TypeError('an ArrayBuffer in the transfer list was moved already (it is detached): each buffer can be transferred once');
      target.postMessage(msg, transfer);
    };
  }

  function webPort() {
    return {
      post: poster(root),
      listen: (fn) => root.addEventListener('message', (e) => fn(e.data)),
      close: () => root.close(),
    };
  }

  function nodePort() {
    const { parentPort } = typeof require === 'function' ? require('worker_threads') : {};
    if (!parentPort) {
      throw new Error('go-worker.js: not inside a Web Worker or a Node.js worker_threads Worker');
    }
    return {
      post: poster(parentPort),
      listen: (fn) => parentPort.on('message', fn),
      // Messages posted before exit are delivered; the host sees the exit too.
      close: (code) => process.exit(code || 1),
    };
  }

  const pending = []; // protocol messages that came before the Go program listened
  let deliver = null; // the Go program's listener
  let waitingForLock = false; // hold messages back until the lock is ours
  let heldLock = null; // the name of the Web Lock this thread holds
  let exited = false; // the Go runtime is gone: drop everything
  let started = false;
  let stderrAt = 0; // when it last wrote there (Date.now())
  let stderrLast = ''; // what it wrote there last, in one write
  let stderrLine = ''; // the start of the line it is writing to stderr
  let stderrCause = ''; // the last whole line there that said why it failed ("panic: …", "fatal error: …")

  // The Go side (wasm/worker's Run) finds this and talks to the host through it.
  root.atmoGoPort = {
    post(msg, transfer) {
      if (exited) return;
      if (heldLock && msg && msg.message === 'worker-ready') {
        msg.content = Object.assign({}, msg.content, { lock: heldLock });
      }
      port.post(msg, transfer);
    },
    listen(fn) {
      deliver = fn;
      // Replay once Go's call has returned: never re-enter Go from inside it.
      if (pending.length) Promise.resolve().then(flush);
    },
    // idle: the Go program has answered its last task (see keepAwake).
    idle() {
      awake.start(keepUs || loneUs, keepUs > 0);
    },
  };

  const awake = keepAwake(); // started by idle(), stopped by the next message
  // micros reads a host's keepAwake or awake, in µs: a positive number,
  // else none (a BigInt from a foreign host would throw in awake.start,
  // inside Go's idle).
  const micros = (x) => (typeof x === 'number' && x > 0 ? x : 0);
  let keepUs = 0; // init-worker's keepAwake: after every task
  let loneUs = 0; // the last worker-work's awake: the host held that task alone
  // keepAwake returns what keeps the thread awake once the Go program falls
  // idle, having answered its last task: start(us) keeps it busy for us µs
  // (init-worker's keepAwake, WorkerConfig.KeepAwake, after every task; or
  // worker-work's awake, Options.LoneTaskAwake, after a task the host held
  // alone), so that a task the host posts in that time finds it awake; stop(),
  // when a task comes, ends that early. A sleeping thread's wake-up is the
  // dearest part of a round trip on a virtual machine. The time passes as a
  // chain of short links, each a background task (scheduler.postTask;
  // setImmediate under Node.js) that spins ~5 µs: between two links the thread
  // takes any message waiting, so a task posted meanwhile runs at once. One long
  // spin held it back until the spin ended (measured in
  // examples/bench/NOTES.md). A spin is a count of clock readings, calibrated at
  // the first start (or at init-worker with keepAwake), as performance.now() is
  // coarsened to 100 µs outside cross-origin isolation. Where neither way to
  // post a link exists (a browser without scheduler.postTask), start() is one
  // spin if KeepAwake asked for it, and nothing for a lone task. The same as in
  // atmo-worker.js: each script stands alone in its worker, so neither imports
  // it.
  function keepAwake() {
    const post =
      typeof scheduler === 'object' && scheduler && typeof scheduler.postTask === 'function'
        ? (fn) => scheduler.postTask(fn, { priority: 'background' })
        : typeof setImmediate === 'function'
          ? setImmediate
          : null;
    const clock = typeof performance === 'object' && performance && typeof performance.now === 'function';
    const linkUs = 5;
    let perUs = 0; // clock readings a µs
    let left = 0; // links still to run
    let queued = false; // one link at most is waiting to run
    const spin = (n) => {
      for (let i = 0; i < n; i++) performance.now();
    };
    const link = () => {
      queued = false;
      if (left <= 0) return;
      left--;
      spin(Math.ceil(perUs * linkUs));
      queued = true;
      post(link);
    };
    const calibrate = () => {
      if (perUs || !clock) return;
      let reads = 0;
      const end = performance.now() + 2;
      while (performance.now() < end) reads++;
      perUs = Math.max(reads / 2000, 0.001);
    };
    return {
      calibrate,
      // start(us, orSpin): with orSpin, where no link can be posted, one
      // spin of us µs stands in for the chain (KeepAwake asks for it).
      start(us, orSpin) {
        if (!(us > 0) || !clock || !(post || orSpin)) return;
        calibrate();
        us = Math.min(us, 1000);
        if (!post) {
          spin(Math.ceil(perUs * us));
          return;
        }
        left = Math.ceil(us / linkUs);
        if (!queued) {
          queued = true;
          post(link);
        }
      },
      stop() {
        left = 0;
      },
    };
  }

  function flush() {
    while (pending.length && deliver && !exited && !waitingForLock) send(pending.shift());
  }

  function send(data) {
    try {
      deliver(data);
    } catch (err) {
      if (!exited) throw err;
    }
  }

  port.listen((data) => {
    if (data && data.message === 'go-prepare') {
      prepare(data.wasmExec, data.wasmExecCopy, data.wasmExecText);
      return;
    }
    if (data && data.message === 'go-module') {
      if (!started) {
        started = true;
        start(data);
      }
      return;
    }
    if (exited) return;
    awake.stop(); // a message for the Go program: it is busy now
    if (data && data.message === 'init-worker') {
      keepUs = micros(data.keepAwake);
      if (keepUs) awake.calibrate();
    } else if (data && data.message === 'worker-work') loneUs = micros(data.awake);
    else if (data && data.message === 'worker-work-batch') loneUs = 0;
    const locks = root.navigator && root.navigator.locks;
    if (data && data.message === 'init-worker' && data.lock && locks && !heldLock && !waitingForLock) {
      waitingForLock = true;
      pending.push(data);
      // Where locks are refused (an opaque origin: a data: URL, a sandboxed
      // page), the thread starts without one, as atmo-worker.js does.
      const unlocked = () => {
        if (heldLock || !waitingForLock) return;
        waitingForLock = false;
        flush();
      };
      try {
        locks.request(data.lock, () => {
          heldLock = data.lock;
          waitingForLock = false;
          flush();
          return new Promise(() => {}); // never released while the thread lives
        }).catch(unlocked);
      } catch (_) {
        unlocked();
      }
      return;
    }
    if (deliver && !pending.length && !waitingForLock) send(data);
    else pending.push(data);
  });

  // prepare loads wasm_exec.js while the host is still compiling the
  // module, so that it is not on the way once the module comes. A failure
  // is left for start, which loads it again and says what failed.
  function prepare(wasmExec, copy, text) {
    if (typeof root.Go === 'function' || started) return;
    try {
      loadWasmExec(wasmExec || defaultWasmExec(), copy, text);
    } catch (err) {
      // start reports it
    }
  }

  async function start(cfg) {
    const name = cfg.url || 'the Go module';
    let stage = 'loading wasm_exec.js';
    let code = null;
    try {
      if (typeof root.Go !== 'function') {
        const wasmExec = cfg.wasmExec || defaultWasmExec();
        stage = `loading wasm_exec.js from ${wasmExec}`;
        loadWasmExec(wasmExec, cfg.wasmExecCopy, cfg.wasmExecText, cfg.wasmExecStatus);
        if (typeof root.Go !== 'function') throw new Error('it did not define Go: is it the wasm_exec.js of a Go toolchain?');
      }
      captureStderr();
      let module = cfg.module;
      if (!(module instanceof WebAssembly.Module)) {
        if (!cfg.url) throw new Error('the go-module message has neither a compiled module nor a url');
        stage = `fetching ${name}`;
        module = await compile(cfg.url, (s) => (stage = s));
      }
      // A module built for another target never runs here, however often
      // it is started: it says so once, and the host does not retry it.
      const wrong = wrongTarget(module, name);
      if (wrong) {
        die(wrong, 1, true);
        return;
      }
      const go = new root.Go();
      // A module that needs what this wasm_exec.js does not give (one
      // built by another Go) would fail to instantiate every time: it says
      // so once, and which Go to use, and the host does not retry it.
      const other = otherGo(module, go.importObject, name, cfg.wasmExec || (inWebWorker ? defaultWasmExec() : ''));
      if (other) {
        die(other, 1, true);
        return;
      }
      if (!inWebWorker) go.env = Object.assign({ TMPDIR: require('os').tmpdir() }, process.env); // as the main thread's
      go.exit = (c) => {
        code = c;
        exited = true;
      };
      stage = `instantiating ${name} (is it built with GOOS=js GOARCH=wasm by the Go whose wasm_exec.js this is?)`;
      const instance = await WebAssembly.instantiate(module, go.importObject);
      stage = `running ${name}`;
      const running = go.run(instance);
      // main has run until it blocked or ended. If it has not called
      // worker.Run by then, and the module has no worker.Run to call, it
      // never will: it says so now, and the host does not retry it.
      const notWorker = deliver === null ? notAWorker(module, name) : '';
      if (notWorker && !exited) {
        die(notWorker, 1, true);
        return;
      }
      await running;
      if (notWorker) die(`${notWorker} (${exitReason(code)})`, code, true);
      else die(exitReason(code), code);
    } catch (err) {
      die(`${stage}: ${(err && err.message) || err}`, 1);
    }
  }

  // loadWasmExec runs wasm_exec.js: the host's text of it if it gave one
  // and it defines Go, else its copy if it gave one and it loads, else the
  // file at url. A try that throws takes back any Go it defined, half made,
  // so that the next try (or start's check) does not take it for loaded;
  // if every try fails, the error says why the text failed too, and the
  // HTTP status of the host's download of it (status), if it was answered
  // with an error: importScripts's own error does not say it.
  function loadWasmExec(url, copy, text, status) {
    if (inWebWorker && typeof text === 'string' && text) {
      try {
        // Global, as a script, and named for stack traces: the name ends at
        // whitespace, and a line break in it would end the comment.
        (0, eval)(text + '\n//# sourceURL=' + String(url).replace(/\s/g, encodeURIComponent));
        if (typeof root.Go === 'function') return;
        textError = new Error('it did not define Go');
      } catch (err) {
        textError = err;
        forgetGo();
      }
    }
    if (inWebWorker && copy) {
      try {
        root.importScripts(copy);
        return;
      } catch (err) {
        forgetGo(); // url, then
      }
    }
    if (inWebWorker) {
      try {
        root.importScripts(url);
      } catch (err) {
        forgetGo();
        // The page may load its own wasm_exec.js from anywhere: say where
        // this one comes from, and how to change it.
        const hint = "; serve there the wasm_exec.js of the Go that built the module, or give its URL with GoModuleOptions.WasmExec (loadAtmo's wasmExec in the JS API)";
        const why = typeof status === 'string' && status ? status : (err && err.message) || err;
        if (!textError) throw new Error(`${why}${hint}`);
        throw new Error(`${why} (the host's text of it failed too: ${(textError && textError.message) || textError})${hint}`);
      }
      return;
    }
    // wasm_exec.js needs globalThis.crypto, which Node.js 18 has only in
    // its main thread (wasm_exec_node.js sets it there).
    if (!globalThis.crypto) globalThis.crypto = require('crypto').webcrypto;
    // As wasm_exec_node.js gives the main thread's Go program: the real file
    // system (else wasm_exec.js's stand-in has none, and prints stderr to
    // stdout with console.log, which a thread loses at exit).
    // An object of its own over Node's fs, so that captureStderr's
    // writeSync is wasm_exec.js's alone, not every fs user's in the thread.
    if (!globalThis.fs) globalThis.fs = Object.create(require('fs'));
    if (!globalThis.path) globalThis.path = require('path');
    require(url);
  }

  let textError = null; // why the host's text of wasm_exec.js did not run

  function forgetGo() {
    try {
      delete root.Go;
    } catch (_) {
      // not ours to take back
    }
  }

  function defaultWasmExec() {
    if (inWebWorker) return root.location.origin + '/wasm_exec.js';
    throw new Error('under Node.js the go-module message must give wasmExec, the path of $(go env GOROOT)/lib/wasm/wasm_exec.js');
  }

  // compile fetches and compiles a module here, when the host did not.
  async function compile(url, setStage) {
    if (!inWebWorker && !/^(https?|blob|data):/.test(url)) {
      const bytes = require('fs').readFileSync(url.startsWith('file:') ? new URL(url) : url);
      setStage(`compiling ${url}`);
      return compileBytes(bytes);
    }
    const r = await fetch(url);
    if (!r.ok) throw new Error(`${r.status} ${r.statusText}`.trim());
    // From the bytes, not compileStreaming, which in Chromium compiles every
    // function as the bytes arrive (several times slower for a Go module).
    const bytes = await r.arrayBuffer();
    setStage(`compiling ${url}`);
    if (!bytes.byteLength) {
      setStage(`fetching ${url}`);
      throw new Error('the response is empty: check the URL (some servers answer an unknown path with an empty page)');
    }
    return compileBytes(bytes);
  }

  async function compileBytes(bytes) {
    try {
      return await WebAssembly.compile(bytes);
    } catch (err) {
      throw new Error(`${err.message} (is it a .wasm built with GOOS=js GOARCH=wasm?)`);
    }
  }

  // wrongTarget says why module is no Go program built with GOOS=js
  // GOARCH=wasm, from its imports, or '' if it may be one: such a program
  // imports wasm_exec.js's functions from "gojs" ("go" before Go 1.21), a
  // GOOS=wasip1 one imports WASI from "wasi_snapshot_preview1" (TinyGo's js
  // target imports from both, and is let through).
  function wrongTarget(module, name) {
    let imports;
    try {
      imports = WebAssembly.Module.imports(module);
    } catch (_) {
      return ''; // not for this check to say
    }
    const from = [...new Set(imports.map((i) => i.module))];
    if (from.includes('gojs') || from.includes('go')) return '';
    const build = 'build the worker with GOOS=js GOARCH=wasm go build -o worker.wasm ./path/to/worker (a main package that calls worker.Run), and serve it with the wasm_exec.js of that Go';
    if (from.includes('wasi_snapshot_preview1')) {
      return `${name} is built with GOOS=wasip1 (it imports wasi_snapshot_preview1, not gojs): a Go worker module runs on wasm_exec.js, not WASI; ${build}`;
    }
    const what = from.length ? `it imports from ${from.map((m) => JSON.stringify(m)).join(', ')}, not "gojs"` : 'it imports nothing, where a Go program imports wasm_exec.js\'s functions from "gojs"';
    return `${name} is not a Go program built with GOOS=js GOARCH=wasm (${what}); ${build}`;
  }

  // otherGo says why module cannot run on this wasm_exec.js, or '' if it
  // can: it imports what importObject does not give, which makes
  // WebAssembly.instantiate throw a LinkError however often it is tried.
  // That is a module built by another Go than the one whose wasm_exec.js
  // this is: before Go 1.21 it imported from "go", not "gojs", and the
  // functions it imports change between releases. The module's Go is named
  // from its producers section (Go's linker writes it), where it has one.
  // TinyGo's js target imports from "gojs" too, and WASI's fd_write, which
  // only TinyGo's wasm_exec.js gives: it is named so.
  function otherGo(module, importObject, name, wasmExec) {
    let imports, missing;
    try {
      imports = WebAssembly.Module.imports(module);
      missing = imports.filter((i) => {
        const from = importObject && importObject[i.module];
        if (from === null || (typeof from !== 'object' && typeof from !== 'function')) return true;
        return i.kind === 'function' ? typeof from[i.name] !== 'function' : !(i.name in from);
      });
    } catch (_) {
      return ''; // not for this check to say: instantiate says what is wrong
    }
    if (!missing.length) return '';
    if (missing.some((i) => i.module === 'wasi_snapshot_preview1') && imports.some((i) => i.module === 'gojs')) {
      return `${name} looks built by TinyGo (it imports from "wasi_snapshot_preview1" as well as "gojs"): atmo's Go workers are built with Go, and run on its wasm_exec.js; build the worker with GOOS=js GOARCH=wasm go build -o worker.wasm ./path/to/worker`;
    }
    const version = goVersionOf(module);
    const shown = missing.slice(0, 3).map((i) => `${i.module}.${i.name}`).join(', ') + (missing.length > 3 ? `, and ${missing.length - 3} more` : '');
    const served = `the wasm_exec.js ${wasmExec ? `at ${wasmExec} ` : ''}`;
    const built = version ? `built by ${version}` : 'built by another Go';
    const serve = version ? `the wasm_exec.js of ${version}` : 'the wasm_exec.js of the Go that built it';
    return `${name} is ${built}, and ${served}is of another Go: it does not give what the module imports (${shown}); rebuild the module (GOOS=js GOARCH=wasm) with the Go whose wasm_exec.js is served, or serve ${serve} ($(go env GOROOT)/lib/wasm/wasm_exec.js; misc/wasm/ before Go 1.24) and give its URL with GoModuleOptions.WasmExec (loadAtmo's wasmExec in the JS API)`;
  }

  // goVersionOf reads the Go version that built module from its producers
  // section ({language: [[Go, version]], ...}), or ''.
  function goVersionOf(module) {
    try {
      const sections = WebAssembly.Module.customSections(module, 'producers');
      if (!sections.length) return '';
      const b = new Uint8Array(sections[0]);
      let at = 0;
      const uleb = () => {
        let n = 0;
        for (let shift = 0; at < b.length && shift < 35; shift += 7) {
          const x = b[at++];
          n += (x & 0x7f) * 2 ** shift;
          if (!(x & 0x80)) break;
        }
        return n;
      };
      const str = () => {
        const n = uleb();
        const t = new TextDecoder().decode(b.subarray(at, at + n));
        at += n;
        return t;
      };
      for (let fields = uleb(); fields > 0 && at < b.length; fields--) {
        const field = str();
        for (let n = uleb(); n > 0 && at < b.length; n--) {
          const who = str();
          const version = str();
          if (field === 'language' && who === 'Go' && /^[\x20-\x7e]{1,64}$/.test(version)) return version;
        }
      }
    } catch (_) {
      // no version to name
    }
    return '';
  }

  // notAWorker says why module can never serve tasks, when its name
  // section, as Go's linker writes it, has no worker.Run (the linker leaves
  // out what main never calls): a Go program that is no atmo worker, such
  // as the page's own main module. '' when it has one, or when the names
  // say nothing (a module built with -ldflags=-s has none). Read only for a
  // main that has not called worker.Run when it first blocks, or ends.
  function notAWorker(module, name) {
    let text;
    try {
      const sections = WebAssembly.Module.customSections(module, 'name');
      if (!sections.length) return '';
      text = new TextDecoder('latin1').decode(sections[0]);
    } catch (_) {
      return '';
    }
    if (!text.includes('runtime.main') || text.includes('wasm_worker.Run') || text.includes('wasm/worker.Run')) return '';
    return `${name} is not an atmo worker: it never calls worker.Run (github.com/atmoworkers/atmo/wasm/worker), which it does not contain; is it the ${inWebWorker ? 'page' : 'program'}'s own main module? A worker module's main registers its handlers with worker.Handle, then calls worker.Run`;
  }

  // captureStderr keeps what the Go runtime's stderr says of a crash (its
  // panic or fatal error line, its last write), and still lets it through
  // to the console.
  function captureStderr() {
    const fs = root.fs;
    if (!fs || typeof fs.writeSync !== 'function' || fs.writeSync.atmo) return;
    const write = fs.writeSync.bind(fs);
    const decoder = new TextDecoder();
    const keep = (text) => {
      stderrLast = text;
      // The line that says why is kept as a line: a stack trace of many
      // kilobytes may follow it (a panic deep in a recursion). The runtime
      // writes a line in pieces ("panic: ", the value, "\n").
      const lines = text.split('\n');
      for (let i = 0; i < lines.length; i++) {
        if (stderrLine.length < 2048) stderrLine += lines[i].slice(0, 2048 - stderrLine.length);
        if (i === lines.length - 1) break;
        if (/^(panic|fatal error): /.test(stderrLine)) stderrCause = stderrLine;
        stderrLine = '';
      }
      stderrAt = Date.now();
    };
    fs.writeSync = function (fd, buf, ...rest) {
      if (fd === 2) keep(typeof buf === 'string' ? buf : decoder.decode(buf));
      return write(fd, buf, ...rest);
    };
    fs.writeSync.atmo = true;
    // Under Node.js, os.Stderr (the log package, fmt.Fprintln) writes with
    // the real fs.write, not writeSync (wasm_exec.js's stand-in routes one
    // through the other).
    if (!inWebWorker && typeof fs.write === 'function') {
      const writeAsync = fs.write.bind(fs);
      fs.write = function (fd, buf, offset, length, ...rest) {
        if (fd === 2 && buf && typeof buf !== 'string' && typeof offset === 'number' && typeof length === 'number') {
          keep(decoder.decode(buf.subarray(offset, offset + length)));
        }
        return writeAsync(fd, buf, offset, length, ...rest);
      };
    }
  }

  // exitReason says why the Go runtime ended: the last panic or fatal error
  // it printed, if any.
  function exitReason(code) {
    let why = stderrCause;
    const last = stderrLast.trim();
    if (!why && code !== 0 && Date.now() - stderrAt < 1000 && last && !last.includes('\n')) {
      // os.Exit(n) right after writing why in one line, as log.Fatal does:
      // that line. A line from long before is another matter's, and so is
      // the end of a write of several lines (the stack of a recovered
      // panic, which wasm/worker prints): both are left out.
      why = 'its last line on stderr: ' + last.slice(-512);
    }
    if (!why && code === 0) {
      why = deliver === null
        ? 'main returned (or called os.Exit(0)) instead of serving tasks with worker.Run()'
        : 'the program called os.Exit(0) while serving tasks (a handler should return instead)';
    }
    return `Go runtime exited with code ${code}` + (why ? `: ${why}` : '');
  }

  // die ends the thread, telling the host why; permanent says that a
  // start that failed so would fail again (the host does not retry it).
  function die(reason, code, permanent) {
    if (die.done) return;
    die.done = true;
    exited = true;
    try {
      port.post(permanent ? { message: 'worker-exit', error: reason, permanent: true } : { message: 'worker-exit', error: reason });
    } finally {
      port.close(code);
    }
  }
})(typeof self !== 'undefined' ? self : globalThis);
