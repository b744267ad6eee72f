import { act, render, renderHook, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";

import { Pager, useCursorPages } from "./Pager";

describe("useCursorPages", () => {
  it("starts on the first page, with no way back", () => {
    const { result } = renderHook(() => useCursorPages());
    expect(result.current.cursor).toBeUndefined();
    expect(result.current.previous).toBeUndefined();
  });

  it("goes forward to the cursor the server gave, and back the same way", () => {
    const { result } = renderHook(() => useCursorPages());
    act(() => result.current.next("c2")?.());
    expect(result.current.cursor).toBe("c2");
    act(() => result.current.next("c3")?.());
    expect(result.current.cursor).toBe("c3");

    act(() => result.current.previous?.());
    expect(result.current.cursor).toBe("c2");
    act(() => result.current.previous?.());
    expect(result.current.cursor).toBeUndefined();
    expect(result.current.previous).toBeUndefined();
  });

  it("offers no next page when the server gave no cursor", () => {
    const { result } = renderHook(() => useCursorPages());
    expect(result.current.next(null)).toBeUndefined();
    expect(result.current.next(undefined)).toBeUndefined();
    expect(result.current.next("")).toBeUndefined();
  });

  it("returns to the first page on reset (a new filter)", () => {
    const { result } = renderHook(() => useCursorPages());
    act(() => result.current.next("c2")?.());
    act(() => result.current.next("c3")?.());
    act(() => result.current.reset());
    expect(result.current.cursor).toBeUndefined();
    expect(result.current.previous).toBeUndefined();
  });
});

describe("Pager", () => {
  it("disables a direction without a page and calls the other", async () => {
    const onNext = vi.fn();
    render(<Pager onPrevious={undefined} onNext={onNext} />);
    const newer = screen.getByRole("button", { name: "Newer" });
    const older = screen.getByRole("button", { name: "Older" });
    expect(newer).toBeDisabled();
    expect(older).toBeEnabled();
    await userEvent.click(older);
    expect(onNext).toHaveBeenCalledOnce();
    expect(screen.getByRole("navigation", { name: "Pages" })).toContainElement(older);
  });

  it("takes other labels", () => {
    render(<Pager onPrevious={() => undefined} onNext={undefined} previousLabel="Previous page" nextLabel="Next page" />);
    expect(screen.getByRole("button", { name: "Previous page" })).toBeEnabled();
    expect(screen.getByRole("button", { name: "Next page" })).toBeDisabled();
  });
});
