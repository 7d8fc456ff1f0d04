// The per-frame script people write around FFmpeg today, as the baseline
// scripts/compare-baseline.sh times vidnst against: read each PNG that
// `ffmpeg -i IN frames/%06d.png` wrote, run the style network on it with
// ONNX Runtime (onnxruntime-node, the same 1.30.0 library vidnst loads),
// write the result as a PNG for `ffmpeg -framerate R -i out/%06d.png` to
// encode. One frame at a time, the network on THREADS threads. Written
// to be fair to it: typed arrays, no per-pixel objects, the session made
// once.
//
//   node stylize-frames.mjs MODEL.onnx IN_DIR OUT_DIR THREADS
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { PNG } from 'pngjs';

const [model, inDir, outDir, threads] = process.argv.slice(2);
if (!model || !inDir || !outDir) {
  console.error('usage: node stylize-frames.mjs MODEL.onnx IN_DIR OUT_DIR [THREADS]');
  process.exit(2);
}
const session = await ort.InferenceSession.create(model, {
  executionProviders: ['cpu'],
  intraOpNumThreads: Number(threads) || 0,
});
const input = session.inputNames[0];
const output = session.outputNames[0];
fs.mkdirSync(outDir, { recursive: true });
const names = fs.readdirSync(inDir).filter((n) => n.endsWith('.png')).sort();
for (const name of names) {
  const png = PNG.sync.read(fs.readFileSync(path.join(inDir, name)));
  const { width: w, height: h, data } = png; // RGBA, 8 bits
  const n = w * h;
  const x = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    x[i] = data[4 * i];
    x[n + i] = data[4 * i + 1];
    x[2 * n + i] = data[4 * i + 2];
  }
  const res = await session.run({ [input]: new ort.Tensor('float32', x, [1, 3, h, w]) });
  const t = res[output];
  const [, , oh, ow] = t.dims; // the networks may give a few more rows or columns
  const y = t.data;
  const on = oh * ow;
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const i = r * w + c;
      const j = r * ow + c;
      for (let k = 0; k < 3; k++) {
        const v = Math.round(y[k * on + j]);
        data[4 * i + k] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  fs.writeFileSync(path.join(outDir, name), PNG.sync.write(png));
}
console.error(`stylize-frames: ${names.length} frames`);
