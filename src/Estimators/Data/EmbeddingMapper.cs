using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Pipelines;

/// <summary>
/// The row mapper of the pretrained-model transformers: from a token-id column to a sentence
/// embedding column and one more column of type <typeparamref name="T"/> (fill-mask text,
/// perplexity), both from one model pass per row.
/// </summary>
internal sealed class EmbeddingMapper<T>(
    IHost host, DataViewSchema schema, RowToRowTransformerBase parent, string tokenColumn, string embeddingColumn, int embeddingSize,
    DataViewSchema.DetachedColumn extraColumn, Func<int[], (float[] Embedding, T Extra)> score, Action<ModelSaveContext> save)
    : RowToRowTransformerBase.MapperBase(host, schema, parent)
{
    private readonly int _input = TokenSequences.CheckColumn(schema, tokenColumn).Index;

    protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore() =>
        [new(embeddingColumn, new VectorDataViewType(NumberDataViewType.Single, embeddingSize)), extraColumn];

    public override Delegate[] CreateGetters(DataViewRow input, Func<int, bool> activeOutput, out Action disposer)
    {
        disposer = () => { };
        var getters = new Delegate[2];
        // A cursor that reads neither output has not activated the token column: open nothing.
        if (!activeOutput(0) && !activeOutput(1)) return getters;
        var tokens = input.GetGetter<VBuffer<int>>(input.Schema[_input]);
        var cache = new RowCache<(float[] Embedding, T Extra)>(input, () =>
        {
            VBuffer<int> buffer = default;
            tokens(ref buffer);
            return score(buffer.DenseValues().ToArray());
        });
        if (activeOutput(0))
            getters[0] = (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) =>
            {
                var embedding = cache.Get().Embedding;
                new VBuffer<float>(embedding.Length, embedding).CopyTo(ref value);
            });
        if (activeOutput(1))
            getters[1] = (ValueGetter<T>)((ref T value) => value = cache.Get().Extra);
        return getters;
    }

    protected override Delegate MakeGetter(DataViewRow input, int iinfo, Func<int, bool> activeOutput, out Action disposer) =>
        CreateGetters(input, i => i == iinfo, out disposer)[iinfo];

    protected override Func<int, bool> GetDependenciesCore(Func<int, bool> activeOutput) =>
        column => column == _input && (activeOutput(0) || activeOutput(1));

    protected override void SaveModel(ModelSaveContext ctx) => save(ctx);
}
