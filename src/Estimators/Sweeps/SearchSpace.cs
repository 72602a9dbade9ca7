using System.Globalization;
using System.Reflection;

namespace Pipelines;

/// <summary>
/// The search space declared on a parameter type: every public settable property with a
/// <see cref="RangeAttribute"/> or <see cref="ChoiceAttribute"/> is searched; the others keep the
/// value <c>new T()</c> gives them. The default point is <c>new T()</c> with each attribute's
/// init (or default) value where it gives one. Parameters travel as invariant-culture strings, so a results
/// file can rebuild them.
/// </summary>
public sealed class SearchSpace<T> where T : class, new()
{
    private readonly List<Dimension> _dimensions;

    /// <summary>Reads the attributes of <typeparamref name="T"/>.</summary>
    /// <exception cref="ArgumentException">A property's attribute does not fit its type or range.</exception>
    public SearchSpace()
    {
        _dimensions = [];
        foreach (var property in typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var range = property.GetCustomAttribute<RangeAttribute>();
            var choice = property.GetCustomAttribute<ChoiceAttribute>();
            if (range is not null && choice is not null) throw new ArgumentException($"{typeof(T).Name}.{property.Name} has both Range and Choice.");
            if (range is not null)
            {
                if (property.PropertyType != typeof(double) && property.PropertyType != typeof(float) && property.PropertyType != typeof(int))
                    throw new ArgumentException($"Range needs a double, float or int property; {typeof(T).Name}.{property.Name} is {property.PropertyType.Name}.");
                if (!(range.Min <= range.Max) || (range.LogBase && range.Min <= 0))
                    throw new ArgumentException($"{typeof(T).Name}.{property.Name}: range [{range.Min}, {range.Max}] is empty{(range.LogBase ? " or not positive (log scale)" : "")}.");
                if (range.Init is double init && !(init >= range.Min && init <= range.Max))
                    throw new ArgumentException($"{typeof(T).Name}.{property.Name}: init {init} lies outside [{range.Min}, {range.Max}].");
                _dimensions.Add(new Dimension(property, range, null));
            }
            else if (choice is not null)
            {
                if (choice.Candidates.Count == 0) throw new ArgumentException($"{typeof(T).Name}.{property.Name} has an empty Choice.");
                var candidates = choice.Candidates.Select(v => Convert(v, property.PropertyType)).ToArray();
                if (choice.DefaultValue is { } chosen && !candidates.Contains(Convert(chosen, property.PropertyType)))
                    throw new ArgumentException($"{typeof(T).Name}.{property.Name}: the default {chosen} is not one of the choices.");
                _dimensions.Add(new Dimension(property, null, candidates));
            }
        }
        if (_dimensions.Count == 0) throw new ArgumentException($"{typeof(T).Name} declares no [Range] or [Choice] property: nothing to search.");
    }

    /// <summary>Names of the searched properties, in declaration order.</summary>
    public IReadOnlyList<string> Names => _dimensions.Select(d => d.Property.Name).ToList();

    /// <summary><c>new T()</c> with the attributes' init and default values applied: the point a sweep's default trial scores.</summary>
    public T Default()
    {
        var point = new T();
        foreach (var d in _dimensions)
        {
            object? value = d.Range?.Init is double init ? Numeric(init, d.Property.PropertyType)
                : d.Property.GetCustomAttribute<ChoiceAttribute>()?.DefaultValue is { } chosen ? Convert(chosen, d.Property.PropertyType) : null;
            if (value is not null) d.Property.SetValue(point, value);
        }
        return point;
    }

    /// <summary>One random point.</summary>
    public T Sample(Random random)
    {
        var point = new T();
        foreach (var d in _dimensions)
        {
            object value;
            if (d.Choices is { } choices) value = choices[random.Next(choices.Length)];
            else
            {
                var u = random.NextDouble();
                var x = d.Range!.LogBase
                    ? Math.Exp(Math.Log(d.Range.Min) + u * (Math.Log(d.Range.Max) - Math.Log(d.Range.Min)))
                    : d.Range.Min + u * (d.Range.Max - d.Range.Min);
                value = Numeric(x, d.Property.PropertyType);
            }
            d.Property.SetValue(point, value);
        }
        return point;
    }

    /// <summary>Every combination of the choices and of <paramref name="pointsPerRange"/> evenly spaced values of each range (log-spaced on a log scale).</summary>
    public IEnumerable<T> Grid(int pointsPerRange = 3)
    {
        if (pointsPerRange < 1) throw new ArgumentOutOfRangeException(nameof(pointsPerRange), pointsPerRange, "At least one point per range.");
        var axes = _dimensions.Select(d => d.Choices ?? RangePoints(d, pointsPerRange)).ToList();
        IEnumerable<object[]> combinations = [[]];
        foreach (var axis in axes) combinations = combinations.SelectMany(c => axis.Select(v => (object[])[.. c, v]));
        foreach (var combination in combinations)
        {
            var point = new T();
            for (var i = 0; i < _dimensions.Count; i++) _dimensions[i].Property.SetValue(point, combination[i]);
            yield return point;
        }
    }

    /// <summary>The searched values of <paramref name="point"/>, as invariant-culture strings by property name.</summary>
    public IReadOnlyDictionary<string, string> Describe(T point) =>
        _dimensions.ToDictionary(d => d.Property.Name, d => Format(d.Property.GetValue(point)));

    /// <summary>The point whose searched values are <paramref name="values"/> (as <see cref="Describe"/> writes them).</summary>
    public T Parse(IReadOnlyDictionary<string, string> values)
    {
        var point = new T();
        foreach (var d in _dimensions)
            if (values.TryGetValue(d.Property.Name, out var text)) d.Property.SetValue(point, Convert(text, d.Property.PropertyType));
        return point;
    }

    private static object[] RangePoints(Dimension d, int points)
    {
        var (min, max) = (d.Range!.Min, d.Range.Max);
        return Enumerable.Range(0, points)
            .Select(i => points == 1 ? 0.5 : i / (double)(points - 1))
            .Select(u => d.Range.LogBase ? Math.Exp(Math.Log(min) + u * (Math.Log(max) - Math.Log(min))) : min + u * (max - min))
            .Select(x => Numeric(x, d.Property.PropertyType))
            .Distinct().ToArray();
    }

    private static object Numeric(double x, Type type) =>
        type == typeof(int) ? (int)Math.Round(x) : type == typeof(float) ? (float)x : (object)x;

    private static string Format(object? value) => value switch
    {
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        null => "",
        _ => value.ToString() ?? "",
    };

    private static object Convert(object value, Type type)
    {
        if (type.IsInstanceOfType(value)) return value;
        if (type.IsEnum) return value is string s ? Enum.Parse(type, s) : Enum.ToObject(type, value);
        return System.Convert.ChangeType(value, type, CultureInfo.InvariantCulture);
    }

    private sealed record Dimension(PropertyInfo Property, RangeAttribute? Range, object[]? Choices);
}
