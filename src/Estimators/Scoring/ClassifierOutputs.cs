using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pipelines;

/// <summary>
/// The output columns of this library's classifiers, as ML.NET's evaluators read them. Binary:
/// Score (log-odds), Probability and PredictedLabel (Boolean). Multiclass: Score (class
/// probabilities, with the class names as slot names) and PredictedLabel (a key with those names).
/// </summary>
internal static class ClassifierOutputs
{
    public static DataViewSchema.DetachedColumn[] Columns(bool binary, IReadOnlyList<string> classNames)
    {
        if (binary)
            return
            [
                new("Score", NumberDataViewType.Single),
                new("Probability", NumberDataViewType.Single),
                new("PredictedLabel", BooleanDataViewType.Instance),
            ];
        var names = classNames.Select(n => n.AsMemory()).ToArray();
        var keyValues = new DataViewSchema.Annotations.Builder();
        keyValues.AddKeyValues(names.Length, TextDataViewType.Instance,
            (ref VBuffer<ReadOnlyMemory<char>> value) => new VBuffer<ReadOnlyMemory<char>>(names.Length, names).CopyTo(ref value));
        var slotNames = new DataViewSchema.Annotations.Builder();
        slotNames.AddSlotNames(names.Length, (ref VBuffer<ReadOnlyMemory<char>> value) => new VBuffer<ReadOnlyMemory<char>>(names.Length, names).CopyTo(ref value));
        return
        [
            new("Score", new VectorDataViewType(NumberDataViewType.Single, names.Length), slotNames.ToAnnotations()),
            new("PredictedLabel", new KeyDataViewType(typeof(uint), names.Length), keyValues.ToAnnotations()),
        ];
    }

    /// <summary>Getters of <see cref="Columns"/> reading the current row's class probabilities.</summary>
    public static Delegate[] Getters(bool binary, Func<float[]> current)
    {
        if (binary)
            return
            [
                (ValueGetter<float>)((ref float v) => { var p = current(); v = MathF.Log(p[1]) - MathF.Log(p[0]); }),
                (ValueGetter<float>)((ref float v) => v = current()[1]),
                (ValueGetter<bool>)((ref bool v) => v = current()[1] > 0.5f),
            ];
        return
        [
            (ValueGetter<VBuffer<float>>)((ref VBuffer<float> v) => { var p = current(); new VBuffer<float>(p.Length, p).CopyTo(ref v); }),
            (ValueGetter<uint>)((ref uint v) => { var p = current(); v = (uint)Array.IndexOf(p, p.Max()) + 1; }),
        ];
    }
}
