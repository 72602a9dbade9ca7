namespace Pipelines;

/// <summary>
/// A transformer's TorchSharp module, owned: after <see cref="Dispose"/> every use throws
/// <see cref="ObjectDisposedException"/> naming the transformer, so a disposed model never saves as
/// a zip without weights, never scores with freed tensors and never starts a fine-tuning run.
/// </summary>
internal sealed class ModelOwnership<T> : IDisposable where T : class, IDisposable
{
    private readonly string _owner;
    private T? _model;

    public ModelOwnership(T model, string owner) => (_model, _owner) = (model, owner);

    /// <summary>The module, or <see cref="ObjectDisposedException"/> once disposed.</summary>
    public T Model => _model ?? throw new ObjectDisposedException(_owner,
        $"This {_owner} was disposed and its weights freed: it can no longer transform, save or be a fine-tuning base. Load the model zip again to use it.");

    public void Dispose()
    {
        _model?.Dispose();
        _model = null;
    }
}
