package farm

// A small stand-in for testify's require, so that this package's tests need
// nothing beyond the standard library and goleak in go.sum.

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

type requireT struct{}

var require requireT

func msg(msgAndArgs []any) string {
	if len(msgAndArgs) == 0 {
		return ""
	}
	if f, ok := msgAndArgs[0].(string); ok {
		return ": " + fmt.Sprintf(f, msgAndArgs[1:]...)
	}
	return ": " + fmt.Sprint(msgAndArgs...)
}

func (requireT) NoError(t testing.TB, err error, m ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v%s", err, msg(m))
	}
}

func (requireT) Error(t testing.TB, err error, m ...any) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected an error%s", msg(m))
	}
}

func (requireT) ErrorContains(t testing.TB, err error, sub string, m ...any) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected an error containing %q, got nil%s", sub, msg(m))
	}
	if !strings.Contains(err.Error(), sub) {
		t.Fatalf("error %q does not contain %q%s", err.Error(), sub, msg(m))
	}
}

func (requireT) ErrorIs(t testing.TB, err, target error, m ...any) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v is not %v%s", err, target, msg(m))
	}
}

func (requireT) ErrorAs(t testing.TB, err error, target any, m ...any) {
	t.Helper()
	if !errors.As(err, target) {
		t.Fatalf("error %v (%T) is not a %T%s", err, err, target, msg(m))
	}
}

func (requireT) Equal(t testing.TB, want, got any, m ...any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("not equal%s\nwant: %#v\ngot:  %#v", msg(m), want, got)
	}
}

func (requireT) NotEqual(t testing.TB, a, b any, m ...any) {
	t.Helper()
	if reflect.DeepEqual(a, b) {
		t.Fatalf("values are equal: %#v%s", a, msg(m))
	}
}

// EqualValues is Equal after converting got to want's type where possible.
func (requireT) EqualValues(t testing.TB, want, got any, m ...any) {
	t.Helper()
	w, g := reflect.ValueOf(want), reflect.ValueOf(got)
	if w.IsValid() && g.IsValid() && g.Type().ConvertibleTo(w.Type()) && w.Type().ConvertibleTo(g.Type()) {
		if reflect.DeepEqual(want, g.Convert(w.Type()).Interface()) && reflect.DeepEqual(w.Convert(g.Type()).Interface(), got) {
			return
		}
	} else if reflect.DeepEqual(want, got) {
		return
	}
	t.Fatalf("not equal%s\nwant: %#v\ngot:  %#v", msg(m), want, got)
}

func contains(container, item any) bool {
	if s, ok := container.(string); ok {
		sub, ok := item.(string)
		return ok && strings.Contains(s, sub)
	}
	v := reflect.ValueOf(container)
	if v.Kind() == reflect.Slice || v.Kind() == reflect.Array {
		for i := 0; i < v.Len(); i++ {
			if reflect.DeepEqual(v.Index(i).Interface(), item) {
				return true
			}
		}
	}
	return false
}

func (requireT) Contains(t testing.TB, container, item any, m ...any) {
	t.Helper()
	if !contains(container, item) {
		t.Fatalf("%#v does not contain %#v%s", container, item, msg(m))
	}
}

func (requireT) NotContains(t testing.TB, container, item any, m ...any) {
	t.Helper()
	if contains(container, item) {
		t.Fatalf("%#v contains %#v%s", container, item, msg(m))
	}
}

func (requireT) Len(t testing.TB, x any, n int, m ...any) {
	t.Helper()
	if l := reflect.ValueOf(x).Len(); l != n {
		t.Fatalf("length is %d, want %d%s", l, n, msg(m))
	}
}

func (requireT) True(t testing.TB, b bool, m ...any) {
	t.Helper()
	if !b {
		t.Fatalf("expected true%s", msg(m))
	}
}

func (requireT) False(t testing.TB, b bool, m ...any) {
	t.Helper()
	if b {
		t.Fatalf("expected false%s", msg(m))
	}
}

func isNil(x any) bool {
	if x == nil {
		return true
	}
	v := reflect.ValueOf(x)
	switch v.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface, reflect.Func, reflect.Chan:
		return v.IsNil()
	}
	return false
}

func (requireT) Nil(t testing.TB, x any, m ...any) {
	t.Helper()
	if !isNil(x) {
		t.Fatalf("expected nil, got %#v%s", x, msg(m))
	}
}

func (requireT) Empty(t testing.TB, x any, m ...any) {
	t.Helper()
	if !isNil(x) && reflect.ValueOf(x).Len() != 0 {
		t.Fatalf("expected empty, got %#v%s", x, msg(m))
	}
}

func (requireT) Greater(t testing.TB, a, b int, m ...any) {
	t.Helper()
	if a <= b {
		t.Fatalf("%d is not greater than %d%s", a, b, msg(m))
	}
}
