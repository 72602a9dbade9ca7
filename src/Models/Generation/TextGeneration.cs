using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Pipelines.Models.Generation;

/// <summary>Autoregressive decoding for <see cref="GptLanguageModel"/>: greedy, temperature, top-k and top-p sampling.</summary>
public static class TextGeneration
{
    /// <summary>
    /// Continues <paramref name="prompt"/> (token ids) and returns only the new ids. The context fed
    /// to the model is the last <see cref="TransformerConfig.MaxSequenceLength"/> tokens. Deterministic
    /// for a seed: sampling draws from its own generator, not the global one.
    /// </summary>
    public static IReadOnlyList<int> Generate(GptLanguageModel model, IReadOnlyList<int> prompt, GenerationOptions options)
    {
        options.Validate();
        if (prompt.Count == 0) throw new ArgumentException("The prompt must hold at least one token.", nameof(prompt));
        var device = model.parameters().First().device;
        var window = model.Config.MaxSequenceLength;
        var context = prompt.Select(i => (long)i).ToList();
        var generated = new List<int>();
        using var generator = new Generator((ulong)options.Seed, CPU);
        using var _ = no_grad();
        // Dropout off while generating; a model already in eval mode (the usual case, and the one that
        // serves other threads) is not touched, so concurrent callers share it read-only.
        var wasTraining = model.training;
        if (wasTraining) model.eval();
        try
        {
            for (var i = 0; i < options.MaxNewTokens; i++)
            {
                using var scope = NewDisposeScope();
                var input = tensor(context.TakeLast(window).ToArray()).unsqueeze(0).to(device);
                var logits = model.forward(input)[0, -1];                                   // (V)
                var next = (int)NextToken(logits, options, generator);
                generated.Add(next);
                context.Add(next);
                if (next == options.StopTokenId) break;
            }
        }
        finally
        {
            if (wasTraining) model.train();
        }
        return generated;
    }

    /// <summary>Picks the next token id from one position's logits (V).</summary>
    public static long NextToken(Tensor logits, GenerationOptions options, Generator generator)
    {
        logits = logits.to(ScalarType.Float32).cpu();   // the generator lives on the CPU
        if (options.Temperature == 0) return logits.argmax().item<long>();
        var scaled = logits / options.Temperature;
        if (options.TopK > 0 && options.TopK < scaled.shape[0])
        {
            var kth = scaled.topk(options.TopK).values[-1];
            scaled = scaled.masked_fill(scaled < kth, double.NegativeInfinity);
        }
        if (options.TopP < 1)
        {
            var (sorted, order) = scaled.sort(descending: true);
            var cumulative = F.softmax(sorted, 0).cumsum(0);
            // Drop a token when the tokens before it already reach p (so the top token always stays).
            var drop = (cumulative - F.softmax(sorted, 0)) >= options.TopP;
            scaled = scaled.index_put_(full_like(sorted, double.NegativeInfinity).masked_select(drop), order.masked_select(drop));
        }
        return multinomial(F.softmax(scaled, 0), 1, generator: generator).item<long>();
    }
}
