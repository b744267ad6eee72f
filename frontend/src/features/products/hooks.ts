import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import * as calls from "./api";
import type { ProductCreate, ProductFilter, ProductUpdate } from "./api";

export const productKeys = {
  all: (orgId: string) => ["products", orgId] as const,
  lists: (orgId: string) => ["products", orgId, "list"] as const,
  list: (orgId: string, filter: ProductFilter) => ["products", orgId, "list", filter] as const,
  one: (orgId: string, productId: string) => ["products", orgId, "one", productId] as const,
};

/** One page of products; the page shown stays while the next one loads. */
export function useProducts(orgId: string, filter: ProductFilter) {
  return useQuery({
    queryKey: productKeys.list(orgId, filter),
    queryFn: () => calls.listProducts(orgId, filter),
    placeholderData: keepPreviousData,
  });
}

/**
 * One product and its ETag. The editor copies what it opened into its own state: the version
 * its edits are based on must not change under it, so a conflict is detected, not hidden.
 * Not kept once the editor closes (gcTime 0): opening it again reads the current version
 * rather than starting from a copy that may be old.
 */
export function useProduct(orgId: string, productId: string) {
  return useQuery({
    queryKey: productKeys.one(orgId, productId),
    queryFn: () => calls.getProduct(orgId, productId),
    gcTime: 0,
  });
}

export function useCreateProduct(orgId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: ProductCreate) => calls.createProduct(orgId, body),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: productKeys.lists(orgId) }),
  });
}

export function useUpdateProduct(orgId: string, productId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ changes, ifMatch }: { changes: ProductUpdate; ifMatch: string | null }) =>
      calls.updateProduct(orgId, productId, changes, ifMatch),
    onSuccess: (saved) => {
      queryClient.setQueryData(productKeys.one(orgId, productId), saved);
      return queryClient.invalidateQueries({ queryKey: productKeys.lists(orgId) });
    },
  });
}

export function useDeleteProduct(orgId: string, productId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (ifMatch: string | null) => calls.deleteProduct(orgId, productId, ifMatch),
    onSuccess: () => {
      queryClient.removeQueries({ queryKey: productKeys.one(orgId, productId) });
      return queryClient.invalidateQueries({ queryKey: productKeys.lists(orgId) });
    },
  });
}

/** The current version, read afresh after a conflict (and remembered as the product's data). */
export function useFetchCurrentProduct(orgId: string, productId: string) {
  const queryClient = useQueryClient();
  return () =>
    queryClient.fetchQuery({
      queryKey: productKeys.one(orgId, productId),
      queryFn: () => calls.getProduct(orgId, productId),
      staleTime: 0,
    });
}
