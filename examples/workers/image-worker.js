// image-worker.js: resize, compress, filter and analyze images off the main
// thread, written with the helper jsworker/atmo-worker.js.
//
// An image is an ImageData or any {width, height, data} with RGBA bytes
// (a Uint8ClampedArray or Uint8Array of width*height*4). Results that are
// images come back as {width, height, data}, posted as a Uint8ClampedArray,
// which run() and Do read by Go's value rules as bytes: a Uint8Array on the
// page (new ImageData(new Uint8ClampedArray(data.buffer, data.byteOffset,
// data.length), width, height) draws it).
//
// Tasks:
//   resize   {image, width, height}                     → image
//   compress {image, type?: 'image/jpeg'|'image/webp'|'image/png', quality?: 0..1}
//            → {type, size, originalSize, ratio, bytes: Uint8Array}
//   filter   {image, filter: 'grayscale'|'invert'|'sepia'|'brightness', amount?} → image
//            (also listed as 'image-filter', for pools that also run the
//            data worker, whose 'filter' is a different task)
//   analyze  {image} → {width, height, pixels, mean: {r, g, b, a}, brightness, histogram}
//
// OffscreenCanvas does the resizing and the encoding where the browser has
// it; without it, resize falls back to bilinear sampling here and compress
// to run-length encoding.
importScripts('/jsworker/atmo-worker.js');

const hasCanvas = typeof OffscreenCanvas === 'function';

// pixels checks an image and returns its RGBA bytes.
function pixels(image) {
  if (!image || !Number.isInteger(image.width) || !Number.isInteger(image.height) || image.width <= 0 || image.height <= 0) {
    throw new Error('params.image must be an ImageData or {width, height, data} with positive whole width and height');
  }
  const { data } = image;
  const bytes = data instanceof Uint8ClampedArray || data instanceof Uint8Array || data instanceof Int8Array || Array.isArray(data);
  if (data != null && !bytes) {
    throw new Error(`params.image.data must be bytes (a Uint8ClampedArray, a Uint8Array or an array of numbers), not a ${Object.prototype.toString.call(data).slice(8, -1)}`);
  }
  if (!data || data.length !== image.width * image.height * 4) {
    throw new Error(`params.image.data must hold width*height*4 = ${image.width * image.height * 4} RGBA bytes, has ${data ? data.length : 0}`);
  }
  if (data instanceof Uint8ClampedArray) return data;
  if (Array.isArray(data)) return Uint8ClampedArray.from(data); // a plain array of byte values
  return new Uint8ClampedArray(data.buffer, data.byteOffset, data.length); // a Uint8Array or an Int8Array
}

function result(width, height, data) {
  return atmoWorker.transfer({ width, height, data }, [data.buffer]);
}

function toCanvas(image) {
  const c = new OffscreenCanvas(image.width, image.height);
  c.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(pixels(image)), image.width, image.height), 0, 0);
  return c;
}

// MAX_PIXELS bounds a resize: 64 MiB of RGBA, as the generated image worker has it.
const MAX_PIXELS = 1 << 24;

function resize(params) {
  const { image, width, height } = params || {}; // null params: say which to give
  const src = pixels(image);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0 || width * height > MAX_PIXELS) {
    throw new Error('resize needs params.width and params.height: positive whole numbers, at most 16,777,216 pixels in all');
  }
  if (hasCanvas) {
    const out = new OffscreenCanvas(width, height);
    const ctx = out.getContext('2d');
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(toCanvas(image), 0, 0, width, height);
    return result(width, height, ctx.getImageData(0, 0, width, height).data);
  }
  // Bilinear sampling, for runtimes without OffscreenCanvas.
  const out = new Uint8ClampedArray(width * height * 4);
  const sx = image.width / width;
  const sy = image.height / height;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(image.height - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(image.height - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(image.width - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(image.width - 1, x0 + 1);
      const wx = fx - x0;
      for (let c = 0; c < 4; c++) {
        const p = (yy, xx) => src[(yy * image.width + xx) * 4 + c];
        const top = p(y0, x0) * (1 - wx) + p(y0, x1) * wx;
        const bottom = p(y1, x0) * (1 - wx) + p(y1, x1) * wx;
        out[(y * width + x) * 4 + c] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return result(width, height, out);
}

// rle encodes runs of equal pixels as [count, r, g, b, a]; the fallback
// "compression" where no encoder is available.
function rle(src) {
  const out = [];
  for (let i = 0; i < src.length; ) {
    let n = 1;
    while (n < 255 && i + n * 4 < src.length && src[i] === src[i + n * 4] && src[i + 1] === src[i + n * 4 + 1] && src[i + 2] === src[i + n * 4 + 2] && src[i + 3] === src[i + n * 4 + 3]) n++;
    out.push(n, src[i], src[i + 1], src[i + 2], src[i + 3]);
    i += n * 4;
  }
  return new Uint8Array(out);
}

async function compress(params) {
  let { image, type = 'image/jpeg', quality = 0.8 } = params || {};
  const src = pixels(image);
  let bytes;
  if (hasCanvas) {
    const blob = await toCanvas(image).convertToBlob({ type, quality });
    type = blob.type; // the browser may fall back to PNG for a type it cannot encode
    bytes = new Uint8Array(await blob.arrayBuffer());
  } else {
    type = 'application/x-rle-rgba';
    bytes = rle(src);
  }
  const value = { type, size: bytes.length, originalSize: src.length, ratio: bytes.length / src.length, bytes };
  return atmoWorker.transfer(value, [bytes.buffer]);
}

const filters = {
  grayscale: (r, g, b) => {
    const l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    return [l, l, l];
  },
  invert: (r, g, b) => [255 - r, 255 - g, 255 - b],
  sepia: (r, g, b) => [0.393 * r + 0.769 * g + 0.189 * b, 0.349 * r + 0.686 * g + 0.168 * b, 0.272 * r + 0.534 * g + 0.131 * b],
  brightness: (r, g, b, amount) => [r * amount, g * amount, b * amount],
};

function filter(params) {
  const { image, filter: name = 'grayscale', amount = 1.2 } = params || {};
  const src = pixels(image);
  const f = Object.hasOwn(filters, name) ? filters[name] : null;
  if (!f) throw new Error(`unknown filter ${JSON.stringify(name)} (known: ${Object.keys(filters).join(', ')})`);
  if (name === 'brightness' && !(typeof amount === 'number' && Number.isFinite(amount))) {
    throw new Error(`params.amount must be a number, such as 1.2 (got ${typeof amount === 'string' ? JSON.stringify(amount) : String(amount)})`);
  }
  const out = new Uint8ClampedArray(src.length);
  for (let i = 0; i < src.length; i += 4) {
    const [r, g, b] = f(src[i], src[i + 1], src[i + 2], amount);
    out[i] = r;
    out[i + 1] = g;
    out[i + 2] = b;
    out[i + 3] = src[i + 3];
  }
  return result(image.width, image.height, out);
}

function analyze(params) {
  const { image } = params || {};
  const src = pixels(image);
  const n = image.width * image.height;
  const sum = [0, 0, 0, 0];
  const histogram = new Array(16).fill(0); // luminance in 16 buckets
  for (let i = 0; i < src.length; i += 4) {
    for (let c = 0; c < 4; c++) sum[c] += src[i + c];
    const l = 0.2126 * src[i] + 0.7152 * src[i + 1] + 0.0722 * src[i + 2];
    histogram[Math.min(15, Math.floor(l / 16))]++;
  }
  const mean = { r: sum[0] / n, g: sum[1] / n, b: sum[2] / n, a: sum[3] / n };
  const brightness = (0.2126 * mean.r + 0.7152 * mean.g + 0.0722 * mean.b) / 255;
  return { width: image.width, height: image.height, pixels: n, mean, brightness, histogram };
}

atmoWorker({ resize, compress, filter, 'image-filter': filter, analyze });
