// The microphone at 16 kHz: the AudioWorklet averages the context's rate down and posts
// int16 frames of 480 samples (30 ms), which the page sends to the server as binary messages.
class Downsampler extends AudioWorkletProcessor {
  constructor() {
    super();
    this.ratio = sampleRate / 16000;
    this.position = 0;
    this.frame = new Int16Array(480);
    this.filled = 0;
  }
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (; this.position < channel.length; this.position += this.ratio) {
      const start = Math.floor(this.position);
      const end = Math.min(channel.length, Math.max(start + 1, Math.floor(this.position + this.ratio)));
      let sum = 0;
      for (let i = start; i < end; i++) sum += channel[i];
      const value = Math.max(-1, Math.min(1, sum / (end - start)));
      this.frame[this.filled++] = value < 0 ? value * 0x8000 : value * 0x7fff;
      if (this.filled === this.frame.length) {
        this.port.postMessage(this.frame.buffer.slice(0));
        this.filled = 0;
      }
    }
    this.position -= channel.length;
    return true;
  }
}
registerProcessor("downsampler", Downsampler);
