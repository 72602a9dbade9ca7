using System.Diagnostics;
using Pipelines.Models;
using Pipelines.Models.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Reference;

/// <summary>
/// nanoGPT's train.py for its Shakespeare-character CPU recipe, step for step, in TorchSharp and
/// with our <see cref="GptLanguageModel"/>: the same character ids and 90/10 split, the same model
/// (no biases, exact GELU, tied head), and the same random stream: torch's generator seeded with
/// 1337 as train.py seeds it and drawn from in the same order (module constructors, the
/// re-initialisation, the scaled residual projections, then every training and evaluation batch's
/// <c>torch.randint</c>), so that its losses can be compared digit for digit with nanoGPT's
/// published logs. Its learning-rate formula, AdamW groups, clipping and loop order are train.py's.
/// </summary>
public static class NanoGptReplica
{
    /// <summary>The recipe: nanoGPT's README command line for a CPU.</summary>
    public sealed record Settings
    {
        public int Layers { get; init; } = 4;
        public int Heads { get; init; } = 4;
        public int Embedding { get; init; } = 128;
        public int BlockSize { get; init; } = 64;
        public int BatchSize { get; init; } = 12;
        public int MaxIters { get; init; } = 2000;
        public int LrDecayIters { get; init; } = 2000;
        public double LearningRate { get; init; } = 1e-3;
        public double MinLearningRate { get; init; } = 1e-4;
        public int WarmupIters { get; init; } = 100;
        public double WeightDecay { get; init; } = 0.1;
        public double Beta2 { get; init; } = 0.99;
        public double GradClip { get; init; } = 1.0;
        public int EvalInterval { get; init; } = 250;
        public int EvalIters { get; init; } = 20;
        public long Seed { get; init; } = 1337;
        /// <summary>Token ids beyond the characters' (unused, as a tokenizer's special ids are); 0 in nanoGPT.</summary>
        public int UnusedIds { get; init; }
    }

    /// <summary>An evaluation as train.py prints it ("step N: train loss A, val loss B").</summary>
    public sealed record Evaluation(int Iter, double TrainLoss, double ValLoss);

    /// <summary>Losses of the training iterations run (index = iter) and the evaluations, with the wall time.</summary>
    public sealed record Result(IReadOnlyList<double> IterLosses, IReadOnlyList<Evaluation> Evaluations, TimeSpan Elapsed)
    {
        /// <summary>The trained model (the caller disposes it), when <see cref="Run"/> was asked to keep it.</summary>
        public GptLanguageModel? Model { get; init; }
    }

    /// <summary>prepare.py: ids of the sorted distinct characters; the first 90 % trains, the rest validates.</summary>
    public static (long[] Train, long[] Val, int VocabSize) Prepare(string text)
    {
        var chars = text.Distinct().OrderBy(c => c, Comparer<char>.Create((a, b) => a.CompareTo(b))).ToArray();
        var ids = chars.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => (long)p.i);
        var all = text.Select(c => ids[c]).ToArray();
        var cut = (int)(all.Length * 0.9);
        return (all[..cut], all[cut..], chars.Length);
    }

    /// <summary>
    /// Runs train.py's loop for iterations 0 .. <paramref name="lastIter"/> (train.py runs 0 ..
    /// MaxIters: its last evaluation comes before the update of iteration MaxIters).
    /// </summary>
    public static Result Run(string text, Settings settings, int? lastIter = null, Action<string>? log = null, bool keepModel = false,
        List<long[]>? trainingStarts = null)
    {
        var s = settings;
        lastIter ??= s.MaxIters;
        var (trainIds, valIds, vocab) = Prepare(text);
        torch.random.manual_seed(s.Seed);   // train.py seeds before it builds the model
        var model = Build(s, vocab);         // outside the scope below: the caller may keep it
        using var scope = NewDisposeScope();
        var train = tensor(trainIds);
        var val = tensor(valIds);
        var parameters = model.parameters().ToList();
        using var optimizer = Optimizers.AdamW(parameters, s.LearningRate, s.WeightDecay, 0.9, s.Beta2);

        var iterLosses = new List<double>();
        var evaluations = new List<Evaluation>();
        var clock = Stopwatch.StartNew();
        var (x, y) = Batch(train, s, trainingStarts);
        for (var iter = 0; iter <= lastIter; iter++)
        {
            foreach (var group in optimizer.ParamGroups) group.LearningRate = LearningRate(iter, s);
            if (iter % s.EvalInterval == 0)
            {
                var evaluation = new Evaluation(iter, Estimate(model, train, s), Estimate(model, val, s));
                evaluations.Add(evaluation);
                log?.Invoke($"step {iter}: train loss {evaluation.TrainLoss:F4}, val loss {evaluation.ValLoss:F4}");
            }
            using (var step = NewDisposeScope())
            {
                var loss = GptLanguageModel.Loss(model.forward(x), y);
                x.Dispose();
                y.Dispose();
                (x, y) = Batch(train, s, trainingStarts);   // train.py fetches the next batch before the backward pass
                x.MoveToOuterDisposeScope();
                y.MoveToOuterDisposeScope();
                loss.backward();
                nn.utils.clip_grad_norm_(parameters, s.GradClip);
                optimizer.step();
                optimizer.zero_grad();
                iterLosses.Add(loss.item<float>());
            }
            if (iter % 100 == 0 || iter < 10) log?.Invoke($"iter {iter}: loss {iterLosses[^1]:F4}, {clock.Elapsed.TotalSeconds:F0} s");
        }
        if (!keepModel) model.Dispose();
        return new Result(iterLosses, evaluations, clock.Elapsed) { Model = keepModel ? model : null };
    }

    /// <summary>The model as train.py initialises it for <paramref name="settings"/>' seed.</summary>
    public static GptLanguageModel Initial(Settings settings, int vocab)
    {
        torch.random.manual_seed(settings.Seed);
        return Build(settings, vocab);
    }

    /// <summary>train.py's get_lr: warmup (it + 1) / (warmup + 1), then cosine to the floor at lr_decay_iters.</summary>
    public static double LearningRate(int iter, Settings s)
    {
        if (iter < s.WarmupIters) return s.LearningRate * (iter + 1) / (s.WarmupIters + 1);
        if (iter > s.LrDecayIters) return s.MinLearningRate;
        var ratio = (double)(iter - s.WarmupIters) / (s.LrDecayIters - s.WarmupIters);
        return s.MinLearningRate + 0.5 * (1.0 + Math.Cos(Math.PI * ratio)) * (s.LearningRate - s.MinLearningRate);
    }

    // model.py's GPT(config), drawing from the generator exactly as its constructors and
    // initialisation do, then copying the draws into our model (whose own constructor's draws are
    // undone by restoring the generator's state).
    private static GptLanguageModel Build(Settings s, int vocab)
    {
        var state = torch.random.get_rng_state();
        var model = new GptLanguageModel(new TransformerConfig
        {
            VocabSize = vocab + s.UnusedIds, Layers = s.Layers, Hidden = s.Embedding, Heads = s.Heads, FeedForward = 4 * s.Embedding,
            MaxPositions = s.BlockSize, Dropout = 0, PreLayerNorm = true, LayerNormEpsilon = 1e-5, TypeVocabSize = 0,
            Bias = false, TieEmbeddings = true, Activation = Activation.Gelu,
        });
        torch.random.set_rng_state(state);
        using var draws = NewDisposeScope();

        long c = s.Embedding;
        Tensor Normal(long rows, long cols, double std) => empty(rows, cols).normal_(0, std);
        Tensor Uniform(long rows, long cols) => empty(rows, cols).uniform_(-1 / Math.Sqrt(cols), 1 / Math.Sqrt(cols));

        // Constructors: nn.Embedding draws N(0, 1); nn.Linear draws kaiming-uniform.
        Normal(vocab, c, 1);                     // wte
        Normal(s.BlockSize, c, 1);               // wpe
        for (var l = 0; l < s.Layers; l++)
        {
            Uniform(3 * c, c); Uniform(c, c);        // attn.c_attn, attn.c_proj
            Uniform(4 * c, c); Uniform(c, 4 * c);    // mlp.c_fc, mlp.c_proj
        }
        Uniform(vocab, c);                       // lm_head (tied to wte afterwards)

        // self.apply(_init_weights): children first, in registration order; lm_head last, and as
        // it is the tied wte, its draw is the token embedding's final value.
        var weights = new Dictionary<string, Tensor>();
        Normal(vocab, c, 0.02);                  // wte (overwritten by lm_head below)
        weights["transformer.wpe.weight"] = Normal(s.BlockSize, c, 0.02);
        for (var l = 0; l < s.Layers; l++)
        {
            weights[$"transformer.h.{l}.attn.c_attn.weight"] = Normal(3 * c, c, 0.02);
            Normal(c, c, 0.02);                  // attn.c_proj, redrawn below
            weights[$"transformer.h.{l}.mlp.c_fc.weight"] = Normal(4 * c, c, 0.02);
            Normal(c, 4 * c, 0.02);              // mlp.c_proj, redrawn below
        }
        weights["transformer.wte.weight"] = Normal(vocab, c, 0.02);
        // The residual projections, in named_parameters order, N(0, 0.02 / sqrt(2 * n_layer)).
        var residual = 0.02 / Math.Sqrt(2.0 * s.Layers);
        for (var l = 0; l < s.Layers; l++)
        {
            weights[$"transformer.h.{l}.attn.c_proj.weight"] = Normal(c, c, residual);
            weights[$"transformer.h.{l}.mlp.c_proj.weight"] = Normal(c, 4 * c, residual);
        }

        using (no_grad())
        {
            var named = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, value) in weights)
            {
                if (!named.TryGetValue(name, out var parameter)) throw new InvalidOperationException($"No parameter {name}: {string.Join(", ", named.Keys)}");
                if (name == "transformer.wte.weight" && s.UnusedIds > 0)
                {
                    // The characters' rows from nanoGPT's stream; the unused rows from another generator, so the stream stays nanoGPT's.
                    parameter[..vocab].copy_(value);
                    parameter[vocab..].normal_(0, 0.02, new torch.Generator((ulong)s.Seed + 1));
                }
                else parameter.copy_(value);
            }
            var untouched = named.Keys.Except(weights.Keys).Where(n => !n.EndsWith("ln_1.weight") && !n.EndsWith("ln_2.weight") && n != "transformer.ln_f.weight").ToList();
            if (untouched.Count > 0) throw new InvalidOperationException("Parameters nanoGPT does not have: " + string.Join(", ", untouched));
        }
        return model;
    }

    // get_batch: torch.randint(len(data) - block_size, (batch_size,)) window starts.
    private static (Tensor X, Tensor Y) Batch(Tensor data, Settings s, List<long[]>? record = null)
    {
        using var starts = randint(data.shape[0] - s.BlockSize, [s.BatchSize]);
        record?.Add(starts.data<long>().ToArray());
        return CausalLanguageModelingTask.Windows(data, starts, s.BlockSize);
    }

    // estimate_loss for one split: the mean of EvalIters batch losses, in eval mode without gradients.
    private static double Estimate(GptLanguageModel model, Tensor data, Settings s)
    {
        using var _ = no_grad();
        model.eval();
        var sum = 0.0;
        for (var k = 0; k < s.EvalIters; k++)
        {
            using var scope = NewDisposeScope();
            var (x, y) = Batch(data, s);
            sum += GptLanguageModel.Loss(model.forward(x), y).item<float>();
        }
        model.train();
        return sum / s.EvalIters;
    }
}
