using Microsoft.ML;

namespace Pipelines;

/// <summary>Finds one of this library's transformers in a model zip, alone or in a chain.</summary>
internal static class ModelZips
{
    /// <summary>The last <typeparamref name="T"/> in the zip at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">There is no file at the path.</exception>
    /// <exception cref="InvalidDataException">The zip holds no <typeparamref name="T"/> (<paramref name="what"/> in the message).</exception>
    public static T Load<T>(string path, string what) where T : class, ITransformer
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Model zip '{path}' does not exist.", path);
        var loaded = new MLContext().Model.Load(path, out _);
        return loaded as T ?? (loaded as IEnumerable<ITransformer>)?.OfType<T>().LastOrDefault()
            ?? throw new InvalidDataException($"Model zip '{path}' holds no {what}.");
    }
}
