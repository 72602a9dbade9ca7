using System.Diagnostics;
using Pipelines.Models;
using Pipelines.Models.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Benchmarks;

/// <summary>
/// Training tokens/s of the GPT decoder and the model FLOP/s it implies (6 x parameters per token
/// for forward and backward, plus attention 12 x layers x hidden x sequence), divided by the
/// matmul rate measured in the same run: fp32 always, and bf16 on CUDA. With --bf16 the step uses
/// bf16 compute with float32 master weights (MixedPrecision).
///   decoder-throughput [--device=cpu|cuda] [--bf16] [--batch=32] [--steps=20] [--layers=4] [--hidden=256]
/// </summary>
public static class DecoderThroughput
{
    public static int Run(string[] args)
    {
        string? Arg(string name) => args.FirstOrDefault(a => a.StartsWith($"--{name}="))?[(name.Length + 3)..];
        var device = ComputeDevice.Resolve(Arg("device"));
        var bf16 = args.Contains("--bf16");
        int layers = int.Parse(Arg("layers") ?? "4"), hidden = int.Parse(Arg("hidden") ?? "256"), sequence = 128;
        int batch = int.Parse(Arg("batch") ?? "32"), steps = int.Parse(Arg("steps") ?? "20");
        random.manual_seed(0);
        var peak = MatmulPeak.Measure(device);
        var peakBf16 = device.type == DeviceType.CUDA ? MatmulPeak.Measure(device, 8192, 10, ScalarType.BFloat16) : double.NaN;

        var config = new TransformerConfig
        {
            VocabSize = 8192, Layers = layers, Hidden = hidden, Heads = Math.Max(1, hidden / 64), FeedForward = 4 * hidden,
            MaxPositions = sequence, Dropout = 0, PreLayerNorm = true,
        };
        using var model = new GptLanguageModel(config);
        model.to(device);
        var parameters = model.parameters().Sum(p => p.numel());
        using var precision = bf16 ? new MixedPrecision(model) : null;
        var optimized = (precision?.MasterParameters ?? model.parameters()).ToList();
        var optimizer = Optimizers.AdamW(optimized, 1e-4);
        var flopsPerToken = 6.0 * parameters + 12.0 * layers * hidden * sequence;

        double seconds = 0;
        for (var step = 0; step < steps + 3; step++)
        {
            using var scope = NewDisposeScope();
            var ids = randint(0, config.VocabSize, [batch, sequence + 1], device: device);
            var clock = Stopwatch.StartNew();
            optimizer.zero_grad();
            var loss = GptLanguageModel.Loss(model.forward(ids[.., ..^1]).to(ScalarType.Float32), ids[.., 1..]);
            loss.backward();
            precision?.CopyGradientsToMaster();
            optimizer.step();
            precision?.CopyMasterToModel();
            _ = loss.item<float>(); // waits for the device
            if (step >= 3) seconds += clock.Elapsed.TotalSeconds; // the first steps warm up
        }
        var tokensPerSecond = steps * batch * sequence / seconds;
        var modelFlops = tokensPerSecond * flopsPerToken;
        Console.WriteLine($"device                 {ComputeDevice.Describe(device)}{(bf16 ? ", bf16 compute + fp32 master weights" : ", fp32")}");
        Console.WriteLine($"fp32 matmul peak       {peak / 1e9:F1} GFLOP/s");
        if (!double.IsNaN(peakBf16)) Console.WriteLine($"bf16 matmul peak       {peakBf16 / 1e12:F1} TFLOP/s (n=8192)");
        Console.WriteLine($"decoder {layers}x{hidden}, seq {sequence}, batch {batch}: {parameters:N0} parameters");
        Console.WriteLine($"training               {tokensPerSecond:N0} tokens/s = {modelFlops / 1e9:F1} GFLOP/s");
        Console.WriteLine($"ratio to fp32 matmul   {modelFlops / peak:P1}");
        if (!double.IsNaN(peakBf16)) Console.WriteLine($"ratio to bf16 matmul   {modelFlops / peakBf16:P2}");
        return 0;
    }
}
