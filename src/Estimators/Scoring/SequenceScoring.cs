using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines;

/// <summary>One row's input to a sequence-level model: its token ids and, for sentence pairs, its segment ids.</summary>
internal sealed record SequenceInput(int[] Tokens, int[]? Segments);

/// <summary>
/// The scoring a sequence-level model (classifier, regressor, cloze classifier) shares: it reads the
/// token and optional segment columns, prepares each row's tokens (<see cref="Prepare"/>), and runs
/// the model's forward pass over a batch; subclasses say what the outputs (B, Labels) become.
/// </summary>
internal abstract class SequenceScoring<TModel, TResult>(ModelTransformerBase<TModel> owner, DataViewSchema schema, string tokenColumn,
    string? segmentColumn, long padId, int maxLength) : RowScoring<SequenceInput, TResult>
    where TModel : nn.Module, ISequenceClassifier
{
    private readonly int _tokens = TokenSequences.CheckColumn(schema, tokenColumn).Index;
    private readonly int? _segments = segmentColumn is null ? null : TokenSequences.CheckColumn(schema, segmentColumn).Index;

    public override IReadOnlyList<int> InputColumns => _segments is int s ? [_tokens, s] : [_tokens];

    public override Func<SequenceInput> Reader(DataViewRow row)
    {
        var tokens = row.GetGetter<VBuffer<int>>(row.Schema[_tokens]);
        var segments = _segments is int s ? row.GetGetter<VBuffer<int>>(row.Schema[s]) : null;
        VBuffer<int> ids = default, segs = default;
        return () =>
        {
            tokens(ref ids);
            segments?.Invoke(ref segs);
            return new SequenceInput(Prepare(ids.DenseValues().ToArray()), segments is null ? null : segs.DenseValues().ToArray());
        };
    }

    public override int Length(SequenceInput input) => input.Tokens.Length;

    /// <summary>What the model reads of a row's tokens (the row itself unless overridden); no tokens: no forward pass.</summary>
    protected virtual int[] Prepare(int[] tokens) => tokens;

    /// <summary>
    /// Each row's model outputs after <paramref name="transform"/> (tokens cut to the model's length),
    /// from one forward pass; a row with no tokens gets <paramref name="empty"/>.
    /// </summary>
    protected float[][] Outputs(IReadOnlyList<SequenceInput> rows, Func<Tensor, Tensor> transform, float[] empty)
    {
        var results = new float[rows.Count][];
        var scored = Enumerable.Range(0, rows.Count).Where(i => rows[i].Tokens.Length > 0).ToArray();
        foreach (var i in Enumerable.Range(0, rows.Count).Except(scored)) results[i] = (float[])empty.Clone();
        if (scored.Length == 0) return results;
        // The model is read from its owner at each batch, so that a disposed transformer refuses by name.
        var model = owner.Model;
        var device = model.parameters().First().device;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var tokens = scored.Select(i => TokenBatch.Cut(rows[i].Tokens, maxLength)).ToArray();
        var (ids, mask) = TokenBatch.Pad(tokens, padId, device);
        // A token without a segment id is in segment 0, as a missing segment column means.
        var segments = _segments is null ? null : TokenBatch.Pad(
            scored.Select((i, j) => rows[i].Segments!.Concat(new int[tokens[j].Length]).Take(tokens[j].Length).ToArray()).ToArray(), 0, device).Ids;
        var outputs = TokenBatch.Rows(transform(model.Forward(ids, mask, segments)));
        for (var j = 0; j < scored.Length; j++) results[scored[j]] = outputs[j];
        return results;
    }
}
