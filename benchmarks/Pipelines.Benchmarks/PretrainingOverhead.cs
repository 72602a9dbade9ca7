using System.Diagnostics;
using Microsoft.ML;
using Pipelines.Examples.Common;
using Pipelines.Models;
using Pipelines.Models.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Benchmarks;

/// <summary>
/// What the ML.NET estimator costs over a bare TorchSharp loop: masked-LM pretraining of the same
/// model on the same SpamAssassin bodies, (a) through <c>ml.Pretraining.MaskedLanguageModel</c> on a
/// cached token column, (b) a bare loop over the rows pre-tokenized into one padded tensor, masking
/// with tensor ops. Both sample random rows, pad each batch to its longest row, use AdamW with
/// clipping, no validation; tokens counted are real (non-padding) tokens. Runs alternate
/// (bare, estimator, bare, estimator) so drifts in machine load hit both.
///   pretraining-overhead [--steps=200] [--batch=16] [--length=128] [--layers=2] [--hidden=128] [--rounds=2]
/// </summary>
public static class PretrainingOverhead
{
    private sealed class Body
    {
        public string Text { get; set; } = "";
    }

    public static int Run(string[] args)
    {
        string? Arg(string name) => args.FirstOrDefault(a => a.StartsWith($"--{name}="))?[(name.Length + 3)..];
        int steps = int.Parse(Arg("steps") ?? "200"), batch = int.Parse(Arg("batch") ?? "16"), length = int.Parse(Arg("length") ?? "128");
        int layers = int.Parse(Arg("layers") ?? "2"), hidden = int.Parse(Arg("hidden") ?? "128"), rounds = int.Parse(Arg("rounds") ?? "2");
        var (train, _) = SpamAssassin.Load(SpamAssassin.DefaultPath ?? throw new FileNotFoundException("data/spamassassin/emails.jsonl.gz"));
        var texts = train.Select(e => e.Text).ToList();
        var tokenizer = WordPieceTrainer.TrainTokenizer(texts, new WordPieceTrainerOptions { VocabularySize = 8000 });
        var rows = texts.Select(t => tokenizer.Encode(t, maxLength: length).Ids).Where(r => r.Length >= 2).ToList();
        Console.WriteLine($"{rows.Count:N0} SpamAssassin training bodies, WordPiece {tokenizer.VocabSize:N0}, encoder {layers}x{hidden}, " +
                          $"length {length}, batch {batch}, {steps} steps per run, {torch.get_num_threads()} threads");

        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(texts.Select(t => new Body { Text = t }));
        var tokens = ml.Data.Cache(ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: length).Fit(data).Transform(data));
        Estimator(ml, tokens, tokenizer, 5, batch, length, layers, hidden);   // warm-up: fills the cache, JIT
        Bare(rows, tokenizer, 5, batch, length, layers, hidden);

        var bare = new List<double>();
        var loop = new List<double>();
        var fit = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            bare.Add(Bare(rows, tokenizer, steps, batch, length, layers, hidden));
            var (loopRate, fitRate) = Estimator(ml, tokens, tokenizer, steps, batch, length, layers, hidden);
            loop.Add(loopRate);
            fit.Add(fitRate);
            Console.WriteLine($"round {round + 1}: bare loop {bare[^1]:N0} tokens/s; estimator {loopRate:N0} tokens/s in its training loop, {fitRate:N0} over the whole Fit");
        }
        Console.WriteLine($"estimator / bare loop: {loop.Sum() / bare.Sum():F3} (training loop), {fit.Sum() / bare.Sum():F3} (whole Fit: reading the column, building the model, training)");
        return 0;
    }

    private static (double Loop, double Fit) Estimator(MLContext ml, IDataView tokens, TextTokenizer tokenizer, int steps, int batch, int length, int layers, int hidden)
    {
        var clock = Stopwatch.StartNew();
        using var model = ml.Pretraining.MaskedLanguageModel(new MaskedLanguageModelOptions
        {
            Tokenizer = tokenizer, Layers = layers, Hidden = hidden, Heads = 4, MaxLength = length, BatchSize = batch, MaxSteps = steps,
            WarmupSteps = 10, LearningRate = 5e-4, ValidationFraction = 0, EvaluateEvery = 0, Device = "cpu", Seed = 1,
        }).Fit(tokens);
        var seconds = clock.Elapsed.TotalSeconds;
        var last = model.Training!.Reports[^1];
        var trained = last.TokensPerSecond * last.Elapsed.TotalSeconds;
        return (last.TokensPerSecond, trained / seconds);
    }

    private static double Bare(List<int[]> rows, TextTokenizer tokenizer, int steps, int batch, int length, int layers, int hidden)
    {
        // Pre-tokenized: every row padded into one (N, length) tensor, with its real lengths.
        var padded = new long[rows.Count * length];
        for (var r = 0; r < rows.Count; r++)
            for (var t = 0; t < length; t++) padded[r * length + t] = t < rows[r].Length ? rows[r][t] : tokenizer.PadId;
        using var all = tensor(padded).view(rows.Count, length);
        var lengths = rows.Select(r => r.Length).ToArray();
        random.manual_seed(1);
        var config = new TransformerConfig { VocabSize = tokenizer.VocabSize, Layers = layers, Hidden = hidden, Heads = 4, FeedForward = 4 * hidden, MaxPositions = length };
        using var model = new BertForPreTraining(config);
        var parameters = model.parameters().ToList();
        using var optimizer = Optimizers.AdamW(parameters, 5e-4);
        var sampler = new Random(1);
        long counted = 0;
        var clock = Stopwatch.StartNew();
        model.train();
        for (var step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var picks = Enumerable.Range(0, batch).Select(_ => sampler.Next(rows.Count)).ToArray();
            var longest = picks.Max(p => lengths[p]);
            var ids = all.index_select(0, tensor(picks.Select(p => (long)p).ToArray()))[.., ..longest];
            var real = ids.ne(tokenizer.PadId);
            // BERT's rule with tensor ops: 15 % of the non-special real tokens; 80 % [MASK], 10 % random, 10 % kept.
            var candidates = real & ids.ne(tokenizer.ClsId) & ids.ne(tokenizer.SepId);
            var chosen = (rand(ids.shape) < 0.15) & candidates;
            var labels = ids.masked_fill(chosen.logical_not(), Heads.IgnoreIndex);
            var draw = rand(ids.shape);
            var inputs = ids.masked_fill(chosen & (draw < 0.8), tokenizer.MaskId!.Value);
            inputs = torch.where(chosen & (draw >= 0.8) & (draw < 0.9), randint_like(ids, 5, tokenizer.VocabSize), inputs);
            optimizer.zero_grad();
            var (logits, targets) = model.PredictMasked(inputs, labels, real.to(ScalarType.Int64));
            var loss = nn.functional.cross_entropy(logits, targets);
            loss.backward();
            nn.utils.clip_grad_norm_(parameters, 1.0);
            optimizer.step();
            _ = loss.item<float>();
            counted += picks.Sum(p => (long)lengths[p]);
        }
        return counted / clock.Elapsed.TotalSeconds;
    }
}
