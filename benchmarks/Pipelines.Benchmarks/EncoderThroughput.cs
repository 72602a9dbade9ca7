using System.Diagnostics;
using Pipelines.Models;
using Pipelines.Models.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Benchmarks;

/// <summary>
/// Masked-LM training throughput of the BERT style encoder (4 layers, hidden 256, sequence 128,
/// batch 32 by default), the model FLOP/s it implies, divided by the fp32 matmul rate measured in
/// the same run, and the process's resident memory after warm-up and at the end, to show that a
/// long run does not grow. FLOPs per token: 6 x (non-embedding parameters) for forward and backward,
/// 6 x V x C x 0.15 for the output projection at the predicted positions, and 12 x layers x hidden x
/// sequence for attention.
///   encoder-throughput [--steps=500] [--batch=32] [--device=cpu|cuda]
/// </summary>
public static class EncoderThroughput
{
    public static int Run(string[] args)
    {
        string? Arg(string name) => args.FirstOrDefault(a => a.StartsWith($"--{name}="))?[(name.Length + 3)..];
        var device = ComputeDevice.Resolve(Arg("device"));
        int layers = 4, hidden = 256, sequence = 128, vocabulary = 8192;
        int batch = int.Parse(Arg("batch") ?? "32"), steps = int.Parse(Arg("steps") ?? "500");
        var peak = MatmulPeak.Measure(device);
        random.manual_seed(0);
        var config = new TransformerConfig { VocabSize = vocabulary, Layers = layers, Hidden = hidden, Heads = 4, FeedForward = 4 * hidden, MaxPositions = sequence, Dropout = 0.1 };
        using var model = new BertForPreTraining(config);
        model.to(device);
        var optimizer = Optimizers.AdamW(model.parameters(), 1e-4);
        var embedding = model.named_parameters().Where(p => p.name.Contains("embeddings.")).Sum(p => p.parameter.numel());
        var body = model.parameters().Sum(p => p.numel()) - embedding;
        var flopsPerToken = 6.0 * body + 6.0 * vocabulary * hidden * 0.15 + 12.0 * layers * hidden * sequence;

        var process = Process.GetCurrentProcess();
        long warmRss = 0;
        var samples = new List<(int Step, long Rss, long LiveTensors)>();
        double seconds = 0;
        const int warmup = 10;
        for (var step = 0; step < steps + warmup; step++)
        {
            using var scope = NewDisposeScope();
            var ids = randint(5, vocabulary, [batch, sequence], device: device);
            var labels = ids.masked_fill(rand([batch, sequence], device: device) > 0.15, Heads.IgnoreIndex);
            var inputs = ids.masked_fill(labels.ne(Heads.IgnoreIndex), 4);                  // [MASK]
            var clock = Stopwatch.StartNew();
            optimizer.zero_grad();
            var (logits, targets) = model.PredictMasked(inputs, labels);
            var loss = nn.functional.cross_entropy(logits, targets);
            loss.backward();
            optimizer.step();
            _ = loss.item<float>();
            if (step >= warmup) seconds += clock.Elapsed.TotalSeconds;
            if (step == warmup) { process.Refresh(); warmRss = process.WorkingSet64; }
            if (step >= warmup && (step - warmup) % 100 == 0) { process.Refresh(); samples.Add((step - warmup, process.WorkingSet64, DisposeScopeManager.Statistics.ThreadTotalLiveCount)); }
        }
        process.Refresh();
        var endRss = process.WorkingSet64;
        var tokensPerSecond = (double)steps * batch * sequence / seconds;
        var modelFlops = tokensPerSecond * flopsPerToken;
        Console.WriteLine($"device                 {ComputeDevice.Describe(device)}");
        Console.WriteLine($"fp32 matmul peak       {peak / 1e9:F1} GFLOP/s (n=1024)");
        Console.WriteLine($"encoder {layers}x{hidden}, seq {sequence}, batch {batch}, masked-LM: {body:N0} non-embedding parameters");
        Console.WriteLine($"training               {tokensPerSecond:N0} tokens/s = {modelFlops / 1e9:F1} GFLOP/s over {steps} steps");
        Console.WriteLine($"ratio to fp32 matmul   {modelFlops / peak:P1}");
        Console.WriteLine("resident memory by step " + string.Join(", ", samples.Select(p => $"{p.Step}: {p.Rss / 1048576.0:F0} MiB ({p.LiveTensors} live tensors)")));
        Console.WriteLine($"resident memory        {warmRss / 1048576.0:F0} MiB after warm-up, {endRss / 1048576.0:F0} MiB after {steps} steps " +
                          $"({(endRss - warmRss) / 1048576.0:+0;-0} MiB), peak {process.PeakWorkingSet64 / 1048576.0:F0} MiB");
        return 0;
    }
}
