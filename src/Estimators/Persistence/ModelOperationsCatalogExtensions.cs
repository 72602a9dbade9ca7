using Pipelines.Models.Checkpoints;

using Pipelines;

namespace Microsoft.ML;

/// <summary>Saving model zips so that no reader, and no crash, ever meets half of one.</summary>
public static class ModelOperationsCatalogExtensions
{
    /// <summary>
    /// Saves <paramref name="model"/> like <see cref="ModelOperationsCatalog.Save(ITransformer, DataViewSchema, string)"/>,
    /// but into a temporary file beside <paramref name="filePath"/> that replaces it only once complete:
    /// a process killed while saving leaves the previous zip (or none), never a truncated one.
    /// </summary>
    public static void SaveAtomically(this ModelOperationsCatalog catalog, ITransformer model, DataViewSchema? inputSchema, string filePath)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        AtomicFile.Write(filePath, stream => catalog.Save(model, inputSchema, stream));
    }

    /// <summary>
    /// Writes the network of <paramref name="model"/>'s transformer model (the last of this
    /// library's model transformers in the chain: the fine-tuned classifier of a pretrain-then-fine-tune
    /// pipeline) as an ONNX graph that ONNX Runtime runs without libtorch. The graph takes
    /// <c>input_ids</c> (int64 [batch, sequence], right-padded with the tokenizer's pad id) and, for
    /// sentence-pair classifiers, <c>token_type_ids</c>; its outputs are the classifier's
    /// <c>logits</c> and <c>probabilities</c>, the tagger's <c>logits</c>, or a language model's
    /// <c>embedding</c> and <c>logits</c>. Tokenization stays in .NET: in ML.NET, TokenizeSubwords,
    /// then ConvertType to Int64 into a column named input_ids, then ApplyOnnxModel. The graph's
    /// metadata names its kind, pad id, maximum length and class or tag names.
    /// </summary>
    /// <exception cref="ArgumentException">The chain holds none of this library's model transformers.</exception>
    /// <exception cref="InvalidOperationException">The model cannot be exported (the message says why).</exception>
    public static void ExportToOnnx(this ModelOperationsCatalog catalog, ITransformer model, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(stream);
        Exportable(model).SaveOnnx(stream);
    }

    /// <summary>As <see cref="ExportToOnnx(ModelOperationsCatalog, ITransformer, Stream)"/>, into a file written atomically.</summary>
    public static void ExportToOnnx(this ModelOperationsCatalog catalog, ITransformer model, string filePath)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var exportable = Exportable(model);
        AtomicFile.Write(filePath, exportable.SaveOnnx);
    }

    private static IOnnxExportable Exportable(ITransformer model)
    {
        ArgumentNullException.ThrowIfNull(model);
        static IEnumerable<ITransformer> Flatten(ITransformer t) =>
            t is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [t];
        return Flatten(model).OfType<IOnnxExportable>().LastOrDefault() ?? throw new ArgumentException(
            $"The model holds none of this library's model transformers (it holds {string.Join(", ", Flatten(model).Select(t => t.GetType().Name))}): " +
            "only their networks export to ONNX; ML.NET's own transformers export with Microsoft.ML.OnnxConverter.", nameof(model));
    }
}
