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
}
