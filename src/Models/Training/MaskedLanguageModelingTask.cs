using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Models.Training;

/// <summary>
/// Masks tokens of one sequence for masked-LM training: returns the corrupted input ids and the
/// labels (the original id where a prediction is wanted, <see cref="Heads.IgnoreIndex"/> elsewhere).
/// <paramref name="wordIds"/> gives each token's word (-1 for special tokens) when the task has
/// them, for whole-word masking; null otherwise.
/// </summary>
public delegate (int[] Inputs, int[] Labels) TokenMasking(int[] ids, int[]? wordIds, Random random);

/// <summary>
/// Masked-LM pretraining on tokenized sequences (each with its special tokens). Every micro-batch
/// draws <see cref="BatchSize"/> random sequences and masks them afresh (dynamic masking: a
/// sequence gets a new mask each time it is seen). Validation masks the held-out sequences with a
/// fixed seed, so validations are comparable, and reports loss and masked-token accuracy.
/// </summary>
public sealed class MaskedLanguageModelingTask : ITrainingTask
{
    private readonly BertForPreTraining _model;
    private readonly IReadOnlyList<int[]> _train;
    private readonly IReadOnlyList<int[]> _validation;
    private readonly IReadOnlyList<int[]>? _trainWordIds, _validationWordIds;
    private readonly TokenMasking _masking;
    private readonly Device _device;
    private readonly StreamedSequences? _stream;

    /// <summary>Creates the task; sequences longer than <paramref name="maxLength"/> are cut.</summary>
    /// <param name="model">The model; with a sentence-pair objective it needs its sentence-pair head.</param>
    /// <param name="train">Training sequences, each with its special tokens.</param>
    /// <param name="validation">Held-out sequences (may be empty).</param>
    /// <param name="masking">Masks one sequence.</param>
    /// <param name="padId">Padding id.</param>
    /// <param name="maxLength">Longest sequence fed to the model; longer ones are cut.</param>
    /// <param name="batchSize">Sequences per micro-batch.</param>
    /// <param name="validationSeed">Seed of validation's masking and pairs, the same at every validation.</param>
    /// <param name="pairs">A sentence-pair objective trained beside masked-LM: each example is then a pair made from one
    /// sequence (see <see cref="SentencePairs"/>), and the model must have its sentence-pair head.</param>
    /// <param name="clsId">[CLS], for sentence pairs.</param>
    /// <param name="sepId">[SEP], for sentence pairs.</param>
    /// <param name="contrastiveWeight">Weight of the SimCSE loss added in training (0: none): each batch's unmasked
    /// sequences are encoded twice and must find each other among the batch (<see cref="ContrastiveLoss"/>).</param>
    /// <param name="temperature">SimCSE's temperature.</param>
    /// <param name="trainWordIds">Each training sequence's word ids (whole-word masking), aligned with <paramref name="train"/>; null: none.</param>
    /// <param name="validationWordIds">The same for <paramref name="validation"/>.</param>
    /// <param name="replacedTokenDetection">ELECTRA around <paramref name="model"/>: train replaced-token detection instead of
    /// masked-LM (the generator learns masked-LM, the model's encoder to tell its samples from the real tokens); validation then
    /// reports the generator's masked-LM loss and accuracy and, as its AUC, how well the discriminator ranks the replaced tokens
    /// above the real ones. Not with sentence pairs or the contrastive loss.</param>
    public MaskedLanguageModelingTask(BertForPreTraining model, IReadOnlyList<int[]> train, IReadOnlyList<int[]> validation,
        TokenMasking masking, int padId, int maxLength, int batchSize, int validationSeed = 12345,
        SentencePairObjective pairs = SentencePairObjective.None, int clsId = -1, int sepId = -1,
        double contrastiveWeight = 0, double temperature = ContrastiveLoss.DefaultTemperature,
        IReadOnlyList<int[]>? trainWordIds = null, IReadOnlyList<int[]>? validationWordIds = null, ElectraForPreTraining? replacedTokenDetection = null)
        : this(model, train, null, validation, masking, padId, maxLength, batchSize, validationSeed, pairs, clsId, sepId,
            contrastiveWeight, temperature, trainWordIds, validationWordIds, replacedTokenDetection)
    {
    }

    /// <summary>
    /// The task over a training stream read through a shuffle buffer (<paramref name="train"/>, word ids included
    /// when it has them) instead of sequences in memory; each micro-batch takes the stream's next
    /// <paramref name="batchSize"/> sequences. The other parameters are as for the in-memory task; sentence-pair
    /// objectives need whole documents in memory and are not offered here.
    /// </summary>
    public static MaskedLanguageModelingTask Streaming(BertForPreTraining model, StreamedSequences train, IReadOnlyList<int[]> validation,
        TokenMasking masking, int padId, int maxLength, int batchSize, int validationSeed = 12345,
        double contrastiveWeight = 0, double temperature = ContrastiveLoss.DefaultTemperature, IReadOnlyList<int[]>? validationWordIds = null,
        ElectraForPreTraining? replacedTokenDetection = null) =>
        new(model, [], train ?? throw new ArgumentNullException(nameof(train)), validation, masking, padId, maxLength, batchSize, validationSeed,
            SentencePairObjective.None, -1, -1, contrastiveWeight, temperature, null, validationWordIds, replacedTokenDetection);

    private MaskedLanguageModelingTask(BertForPreTraining model, IReadOnlyList<int[]> train, StreamedSequences? stream, IReadOnlyList<int[]> validation,
        TokenMasking masking, int padId, int maxLength, int batchSize, int validationSeed, SentencePairObjective pairs, int clsId, int sepId,
        double contrastiveWeight, double temperature, IReadOnlyList<int[]>? trainWordIds, IReadOnlyList<int[]>? validationWordIds,
        ElectraForPreTraining? electra)
    {
        _stream = stream;
        if (electra is not null && !ReferenceEquals(electra.Discriminator, model))
            throw new ArgumentException("The replaced-token detection model must wrap this task's model.", nameof(electra));
        if (electra is not null && (pairs != SentencePairObjective.None || contrastiveWeight > 0))
            throw new ArgumentException("Replaced-token detection is trained alone: not with a sentence-pair objective or the contrastive loss.", nameof(electra));
        _electra = electra;
        if (trainWordIds is not null && trainWordIds.Count != train.Count || validationWordIds is not null && validationWordIds.Count != validation.Count)
            throw new ArgumentException("Word ids must come with every sequence, in the same order.", nameof(trainWordIds));
        if (trainWordIds is not null && pairs != SentencePairObjective.None)
            throw new ArgumentException("Word ids describe single sequences; a sentence-pair objective rebuilds them into pairs.", nameof(trainWordIds));
        (_trainWordIds, _validationWordIds) = (trainWordIds, validationWordIds);
        if (contrastiveWeight < 0) throw new ArgumentOutOfRangeException(nameof(contrastiveWeight), contrastiveWeight, "The weight must not be negative.");
        if (contrastiveWeight > 0 && pairs != SentencePairObjective.None)
            throw new ArgumentException("SimCSE embeds single sentences; use it without a sentence-pair objective.", nameof(contrastiveWeight));
        (_contrastiveWeight, _temperature) = (contrastiveWeight, temperature);
        if (train.Count == 0 && stream is null) throw new ArgumentException("There are no training sequences.", nameof(train));
        TokenIds.CheckRows(pairs == SentencePairObjective.None ? train : train.Append([clsId, sepId]), model.Config.VocabSize);
        (_model, _train, _validation, _masking) = (model, train, validation, masking);
        (PadId, MaxLength, BatchSize, ValidationSeed) = (padId, maxLength, batchSize, validationSeed);
        _device = model.parameters().First().device;
        if (pairs == SentencePairObjective.None) return;
        if (!model.HasSentencePairHead) throw new ArgumentException("A sentence-pair objective needs the model's sentence-pair head (sentencePair: true).", nameof(model));
        _trainPairs = new SentencePairs(train, pairs, clsId, sepId, maxLength);
        _validationPairs = validation.Count == 0 ? null : new SentencePairs(validation, pairs, clsId, sepId, maxLength);
    }

    private readonly SentencePairs? _trainPairs, _validationPairs;
    private readonly double _contrastiveWeight, _temperature;
    private readonly ElectraForPreTraining? _electra;

    // One example: ids, for sentence pairs their segment ids and label, and word ids when the task has them.
    private sealed record Example(int[] Ids, int[]? Segments = null, int PairLabel = -1, int[]? WordIds = null);

    /// <summary>Padding id (never masked, ignored by attention).</summary>
    public int PadId { get; }
    /// <summary>Longest sequence fed to the model.</summary>
    public int MaxLength { get; }
    /// <summary>Sequences per micro-batch.</summary>
    public int BatchSize { get; }
    /// <summary>Seed of the validation masks.</summary>
    public int ValidationSeed { get; }

    /// <inheritdoc/>
    public nn.Module Model => _electra is null ? _model : _electra;
    /// <inheritdoc/>
    public long TrainingExamples => _stream?.SequencesPerEpoch ?? _train.Count;

    /// <inheritdoc/>
    public (Tensor Loss, int Examples, long Tokens) Step(long draw, Random random)
    {
        var examples = _stream is not null ? Streamed(draw)
            : Enumerable.Range(0, BatchSize).Select(_ => _trainPairs is { } pairs
                ? Pair(pairs, random.Next(pairs.Documents.Count), random)
                : Single(_train, _trainWordIds, random.Next(_train.Count))).ToList();
        var forward = Forward(examples, random);
        if (_contrastiveWeight == 0 || examples.Count < 2) return (forward.Loss, examples.Count, forward.Tokens);
        var (ids, mask) = Batching.Pad(examples.Select(e => e.Ids).ToList(), PadId, MaxLength, _device);
        var contrastive = ContrastiveLoss.SimCse(_model.Bert, ids, mask, _temperature);
        return (forward.Loss + _contrastiveWeight * contrastive, examples.Count, forward.Tokens);
    }

    // The stream's next sequences, checked on the host as they arrive (a stream is not read ahead of training).
    private List<Example> Streamed(long draw)
    {
        var drawn = _stream!.Draw(draw, BatchSize);
        TokenIds.CheckRows(drawn.Select(s => s.Ids), _model.Config.VocabSize);
        return drawn.Select(s => new Example(Cut(s.Ids), WordIds: s.WordIds is null ? null : Cut(s.WordIds))).ToList();
    }

    private static Example Pair(SentencePairs pairs, int index, Random random)
    {
        var (ids, segments, label) = pairs.Make(index, random);
        return new Example(ids, segments, label);
    }

    /// <inheritdoc/>
    public ValidationResult? Validate(int step)
    {
        if (_validation.Count == 0) return null;
        using var _ = no_grad();
        Model.eval();
        var random = new Random(ValidationSeed);
        var examples = _validationPairs is { } pairs
            ? Enumerable.Range(0, pairs.Documents.Count).Select(i => Pair(pairs, i, random)).ToList()
            : Enumerable.Range(0, _validation.Count).Select(i => Single(_validation, _validationWordIds, i)).ToList();
        double lossSum = 0, correct = 0, predicted = 0, pairsRight = 0;
        List<int> replaced = [];
        List<double> scores = [];
        foreach (var chunk in examples.Chunk(BatchSize))
        {
            using var scope = NewDisposeScope();
            var forward = Forward(chunk, random);
            pairsRight += forward.PairsRight;
            if (forward.Detection is { } detection)
            {
                replaced.AddRange(detection.Replaced);
                scores.AddRange(detection.Scores);
            }
            var count = forward.Hits.Count;
            if (count == 0) continue;
            lossSum += forward.MaskedLmLoss.item<float>() * count;
            correct += forward.Hits.Correct;
            predicted += count;
        }
        if (predicted == 0) return null;
        // The loss is masked-LM's alone, so that its perplexity means what it says.
        // Replaced-token detection: how well the discriminator ranks the generator's replacements above the real tokens.
        return new ValidationResult(step, lossSum / predicted, correct / predicted,
            _validationPairs is null ? null : pairsRight / examples.Count, Auc: _electra is null ? null : ClassificationScores.Auc(replaced, scores));
    }

    private int[] Cut(int[] row) => row.Length <= MaxLength ? row : row[..MaxLength];

    private Example Single(IReadOnlyList<int[]> rows, IReadOnlyList<int[]>? wordIds, int index) =>
        new(Cut(rows[index]), WordIds: wordIds is null ? null : Cut(wordIds[index]));

    // Masks the examples, runs the model, and returns the loss (masked-LM plus sentence pair), the
    // masked-LM loss alone, the masked-token hits, the sentence pairs classified right and the token count.
    // In validation of replaced-token detection, also each real token's replaced flag and discriminator score.
    private (Tensor Loss, Tensor MaskedLmLoss, (int Correct, int Count) Hits, int PairsRight, long Tokens, (int[] Replaced, double[] Scores)? Detection) Forward(
        IReadOnlyList<Example> examples, Random random)
    {
        var masked = examples.Select(e => _masking(e.Ids, e.WordIds, random)).ToList();
        var (ids, mask) = Batching.Pad(masked.Select(m => m.Inputs).ToList(), PadId, MaxLength, _device);
        var labels = Batching.PadLabels(masked.Select(m => m.Labels).ToList(), ids.shape[1], _device);
        // Counted on the host, where the rows are: reading them from the device would wait for it every micro-batch.
        var tokens = masked.Sum(m => (long)Math.Min(m.Inputs.Length, MaxLength));
        var positions = Batching.LabelledPositions(masked.Select(m => m.Labels).ToList(), ids.shape[1]);
        var anyMasked = positions.Length > 0;
        Tensor logits, targets, loss, maskedLoss;
        var pairsRight = 0;
        (int[], double[])? detection = null;
        if (examples[0].Segments is null)
        {
            if (!anyMasked)
            {
                var zero = _model.Forward(ids, mask).TokenLogits.sum() * 0;                 // nothing masked: zero loss, not NaN
                return (zero, zero, (0, 0), 0, tokens, null);
            }
            if (_electra is not null)
            {
                var original = Batching.Pad(examples.Select(e => e.Ids).ToList(), PadId, MaxLength, _device).Ids;
                var at = tensor(positions).to(_device);
                targets = labels.flatten().index_select(0, at);
                (logits, maskedLoss, var replacedLoss, var scores, var replaced) = _electra.Forward(ids, original, mask, at, targets);
                loss = maskedLoss + _electra.DiscriminatorWeight * replacedLoss;
                if (!_electra.training)
                {
                    var real = mask.to(ScalarType.Bool);
                    detection = (replaced[real].to(ScalarType.Int32).data<int>().ToArray(), scores[real].to(ScalarType.Float64).data<double>().ToArray());
                }
            }
            else
            {
                (logits, targets) = _model.PredictMasked(ids, labels, mask, positions: tensor(positions).to(_device)); // (N, V), (N)
                // Losses in float32 whatever the model computes in (bf16 mixed precision).
                loss = maskedLoss = nn.functional.cross_entropy(logits.to(ScalarType.Float32), targets);
            }
        }
        else
        {
            var segments = Batching.Pad(examples.Select(e => e.Segments!).ToList(), 0, MaxLength, _device).Ids;
            var pairLabels = tensor(examples.Select(e => (long)e.PairLabel).ToArray()).to(_device);
            Tensor pairLogits;
            (logits, targets, pairLogits) = _model.PredictMaskedAndPair(ids, labels, mask, segments, tensor(positions).to(_device));
            var pairLoss = nn.functional.cross_entropy(pairLogits.to(ScalarType.Float32), pairLabels);
            maskedLoss = anyMasked ? nn.functional.cross_entropy(logits.to(ScalarType.Float32), targets) : pairLoss * 0;
            loss = maskedLoss + pairLoss;
            if (!_model.training) pairsRight = (int)pairLogits.argmax(-1).eq(pairLabels).sum().item<long>();
        }
        var (correct, count) = (0, 0);
        if (!_model.training && anyMasked)
        {
            count = (int)targets.shape[0];
            correct = (int)logits.argmax(-1).eq(targets).sum().item<long>();
        }
        return (loss, maskedLoss, (correct, count), pairsRight, tokens, detection);
    }
}
