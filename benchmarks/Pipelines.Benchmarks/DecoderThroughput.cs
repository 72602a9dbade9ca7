using System.Diagnostics;
using Pipelines.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Benchmarks;

/// <summary>
/// Training tokens/s of the GPT decoder and the model FLOP/s it implies (6 x parameters per token
/// for forward and backward, plus attention 12 x layers x hidden x sequence), divided by the fp32
/// matmul rate measured in the same run.
/// </summary>
public static class DecoderThroughput
{
    public static int Run(string[] args)
    {
        var device = ComputeDevice.Resolve(args.FirstOrDefault(a => a.StartsWith("--device="))?[9..]);
        int layers = 4, hidden = 256, sequence = 128, batch = 32, steps = 20;
        random.manual_seed(0);
        var peak = MatmulPeak.Measure(device);

        var config = new TransformerConfig
        {
            VocabSize = 8192, Layers = layers, Hidden = hidden, Heads = 4, FeedForward = 4 * hidden,
            MaxPositions = sequence, Dropout = 0, PreLayerNorm = true,
        };
        using var model = new GptLanguageModel(config);
        model.to(device);
        var optimizer = optim.AdamW(model.parameters(), 1e-4);
        var parameters = model.parameters().Sum(p => p.numel());
        var flopsPerToken = 6.0 * parameters + 12.0 * layers * hidden * sequence;

        double seconds = 0;
        for (var step = 0; step < steps + 3; step++)
        {
            using var scope = NewDisposeScope();
            var ids = randint(0, config.VocabSize, [batch, sequence + 1], device: device);
            var clock = Stopwatch.StartNew();
            optimizer.zero_grad();
            var loss = GptLanguageModel.Loss(model.forward(ids[.., ..^1]), ids[.., 1..]);
            loss.backward();
            optimizer.step();
            _ = loss.item<float>(); // waits for the device
            if (step >= 3) seconds += clock.Elapsed.TotalSeconds; // the first steps warm up
        }
        var tokensPerSecond = steps * batch * sequence / seconds;
        var modelFlops = tokensPerSecond * flopsPerToken;
        Console.WriteLine($"device                 {ComputeDevice.Describe(device)}");
        Console.WriteLine($"fp32 matmul (n=1024)   {peak / 1e9:F1} GFLOP/s");
        Console.WriteLine($"decoder {layers}x{hidden}, seq {sequence}, batch {batch}: {parameters:N0} parameters");
        Console.WriteLine($"training               {tokensPerSecond:N0} tokens/s = {modelFlops / 1e9:F1} GFLOP/s");
        Console.WriteLine($"ratio to matmul peak   {modelFlops / peak:P1}");
        return 0;
    }
}
