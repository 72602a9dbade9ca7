using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pipelines;

/// <summary>
/// What the pretrained-model transformers compute: from a token-id column, a sentence embedding
/// column and one more column of type <typeparamref name="T"/> (fill-mask text, perplexity), both
/// from one model pass over a batch of rows.
/// </summary>
internal sealed class EmbeddingScoring<T>(
    DataViewSchema schema, string tokenColumn, string embeddingColumn, int embeddingSize,
    DataViewSchema.DetachedColumn extraColumn, Func<IReadOnlyList<int[]>, (float[] Embedding, T Extra)[]> score)
    : RowScoring<int[], (float[] Embedding, T Extra)>
{
    private readonly int _input = TokenSequences.CheckColumn(schema, tokenColumn).Index;

    public override IReadOnlyList<int> InputColumns => [_input];

    public override DataViewSchema.DetachedColumn[] OutputColumns =>
        [new(embeddingColumn, new VectorDataViewType(NumberDataViewType.Single, embeddingSize)), extraColumn];

    public override Func<int[]> Reader(DataViewRow row)
    {
        var tokens = row.GetGetter<VBuffer<int>>(row.Schema[_input]);
        VBuffer<int> buffer = default;
        return () =>
        {
            tokens(ref buffer);
            return buffer.DenseValues().ToArray();
        };
    }

    public override int Length(int[] input) => input.Length;

    public override (float[] Embedding, T Extra)[] Score(IReadOnlyList<int[]> batch) => score(batch);

    public override Delegate[] Getters(Func<(float[] Embedding, T Extra)> current, Func<int, bool> activeOutput)
    {
        var getters = new Delegate[2];
        if (activeOutput(0))
            getters[0] = (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) =>
            {
                var embedding = current().Embedding;
                new VBuffer<float>(embedding.Length, embedding).CopyTo(ref value);
            });
        if (activeOutput(1))
            getters[1] = (ValueGetter<T>)((ref T value) => value = current().Extra);
        return getters;
    }
}
